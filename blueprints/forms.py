"""Form definitions (Flask-WTF): parsing and field-level checks. Domain rules stay in domain/."""
from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms.fields.choices import SelectChoice
from wtforms import (
    BooleanField, DateField, HiddenField, IntegerField, MultipleFileField, PasswordField, SelectField,
    SelectMultipleField, StringField, TextAreaField,
)
from wtforms.widgets import CheckboxInput, ListWidget
from wtforms.i18n import get_translations
from wtforms.validators import (
    DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp, StopValidation, ValidationError,
)

from domain import DomainError
from domain.accounts import check_username_free
from domain.text import first_refused, refusal
from domain.validators import (
    check_password_policy, normalise_credit_code, normalise_email, normalise_mobile, normalise_phone,
)
from models import THREE_SYNCS, OrgKind, PartyOrgKind, Role, VisitForm

REQUIRED = "此项为必填项"


def domain_check(check):
    """A field validator made of a domain check, so that the form shows its refusal together with every other
    field's in one round (the domain still checks again when it acts: the form is only the first to ask)."""

    def validate(_form, field):
        if field.data:
            try:
                check(field.data)
            except DomainError as error:
                raise ValidationError(error.message) from None
    return validate


def plain_text(*, multiline: bool):
    """A field validator of the one rule for control characters (domain/text.py). It stops the field's checks:
    no later one (a database look-up, a domain check) is given text the rule refuses."""

    def validate(_form, field):
        ch = first_refused(field.data, multiline=multiline) if isinstance(field.data, str) else None
        if ch is not None:
            raise StopValidation(refusal(field.label.text, ch, multiline=multiline))
    return validate


SINGLE_LINE, MULTI_LINE = plain_text(multiline=False), plain_text(multiline=True)


class ChineseMessages:
    """WTForms' own refusals, of a value a field cannot even read (a date that is no date, a choice that is no
    number), in Chinese: our words for those a person meets, WTForms' Chinese catalogue for the rest."""

    OURS = {
        "Not a valid date value.": "请填写正确的日期，如 2026-01-31",
        "Not a valid integer value.": "请填写整数",
        "Invalid Choice: could not coerce.": "请从列表中选择",
        "Invalid choice(s): one or more data inputs could not be coerced.": "请从列表中选择",
        "Not a valid choice.": "请从列表中选择",
    }

    def __init__(self):
        self.catalogue = get_translations(["zh"])

    def gettext(self, string: str) -> str:
        return self.OURS.get(string) or self.catalogue.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogue.ngettext(singular, plural, n)


CHINESE_MESSAGES = ChineseMessages()


class Form(FlaskForm):
    """Every form's base. Each text field is held to the rule for control characters, first of its checks, without
    its form having to say so: a textarea as multi-line text, every other text field (names, codes, phones,
    passwords, hidden values) as one line. WTForms' own messages are in Chinese (ChineseMessages)."""

    class Meta:
        def get_translations(self, form):
            return CHINESE_MESSAGES

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            if isinstance(field, StringField):  # TextAreaField, PasswordField and HiddenField are StringFields
                field.validators = [MULTI_LINE if isinstance(field, TextAreaField) else SINGLE_LINE, *field.validators]


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]

USERNAME = [
    DataRequired(REQUIRED),
    Length(3, 40, "用户名长度为3到40个字符"),
    Regexp(r"^[A-Za-z0-9_.-]+$", message="用户名只能包含字母、数字、下划线、点和连字符"),
]


def count_field(label: str, description: str = "") -> IntegerField:
    return IntegerField(
        label,
        [InputRequired("请填写数字，没有请填 0"), NumberRange(0, 100000, "请填写 0 到 100000 之间的整数")],
        default=0,
        description=description,
    )


def email_field(description: str = "") -> StringField:
    return StringField("电子邮箱", [Optional(), Length(max=120, message="邮箱不超过120个字符"),
                                domain_check(normalise_email)],
                       description=description, render_kw={"inputmode": "email", "autocomplete": "email"})


def mobile_field(description: str = "") -> StringField:
    return StringField("手机号码", [Optional(), domain_check(normalise_mobile)], description=description,
                       render_kw={"inputmode": "tel", "autocomplete": "tel"})


NOTICE_ADDRESS = "选填；填写后，系统通知可按您的通知设置发送到这里"


class LoginForm(Form):
    username = StringField("用户名", [DataRequired(REQUIRED)])
    password = PasswordField("密码", [DataRequired(REQUIRED)])


class RegistrationForm(Form):
    org_name = StringField("组织名称", [DataRequired(REQUIRED), Length(max=100, message="名称不超过100个字")],
                           description="与营业执照或登记证书上的名称一致")
    credit_code = StringField("统一社会信用代码", [DataRequired(REQUIRED), domain_check(normalise_credit_code)],
                              description="18位，由数字和大写字母组成，见营业执照或登记证书，如 91150500MA0N12345F")
    kind = SelectField("组织类别", choices=options(OrgKind.choices()), validators=[DataRequired(REQUIRED)])
    unit_id = SelectField("所属初审单位", coerce=int,
                          description="按组织所在园区、街道或主管部门选择；不确定时选“按组织类别自动分配”")
    address = StringField("地址", [Optional(), Length(max=200, message="地址不超过200个字")])
    contact_name = StringField("联系人", [DataRequired(REQUIRED), Length(max=40, message="姓名不超过40个字")])
    position = StringField("职务", [DataRequired(REQUIRED), Length(max=40, message="职务不超过40个字")],
                           description="您在本单位的职务，如 党支部书记、办公室主任")
    contact_phone = StringField("联系电话", [DataRequired(REQUIRED), domain_check(normalise_phone)],
                                description="手机号或带区号的固定电话", render_kw={"inputmode": "tel"})
    certificate = FileField("营业执照或登记证书", [FileRequired("请上传营业执照或登记证书")],
                            description="图片（JPG、PNG）或 PDF，不超过 10 MB；所属初审单位据此核实。"
                                        "如本页提示有误，请重新选择文件")
    employees = count_field("职工人数")
    formal_members = count_field("正式党员人数", "已转正的党员；预备党员不计入")
    probationary_members = count_field("预备党员人数")
    has_party_org = BooleanField("本单位已建立党组织")
    username = StringField("登录用户名", [*USERNAME, domain_check(check_username_free)],
                           description="字母、数字、下划线，3到40位")
    password = PasswordField("密码", [DataRequired(REQUIRED), domain_check(check_password_policy)],
                             description="至少8位，须同时包含字母和数字")
    password_confirm = PasswordField("确认密码", [DataRequired(REQUIRED), EqualTo("password", "两次输入的密码不一致")])
    email = email_field(NOTICE_ADDRESS)
    mobile = mobile_field(NOTICE_ADDRESS)


OFFICIAL_ROLES = options((r.value, r.label) for r in Role if r is not Role.APPLICANT)


class OfficialForm(Form):
    username = StringField("用户名", USERNAME)
    name = StringField("姓名", [DataRequired(REQUIRED), Length(max=40, message="姓名不超过40个字")])
    role = SelectField("角色", choices=OFFICIAL_ROLES, validators=[DataRequired(REQUIRED)])
    unit_id = SelectField("所属初审单位", coerce=int, description="仅初审单位账号需要")
    instructor_id = SelectField("关联指导员", coerce=int, description="仅党建指导员账号需要")
    password = PasswordField("初始密码", [DataRequired(REQUIRED)], description="至少8位，须同时包含字母和数字")
    email = email_field("选填；审批、拨付等通知按本人的通知设置发送到这里")
    mobile = mobile_field("选填；本人选择接收短信通知时使用")


class ContactForm(Form):
    """The addresses notices reach a person by: the administrator's form for an official, the contact's own page."""
    email = email_field()
    mobile = mobile_field()


def known_choices(_form, field):
    unknown = [value for value in field.data or [] if value not in {c.value for c in field.choices}]
    if unknown:
        raise StopValidation("通知设置中有无法识别的选项，请刷新页面后重新选择")


class NoticeSettingsForm(ContactForm):
    """通知设置: which kinds of notice reach the person by which channel ("event:channel" values). An official's
    addresses are the administrator's to set: their page drops email and mobile."""
    wanted = SelectMultipleField("接收方式", validate_choice=False, validators=[known_choices])


class PasswordChangeForm(Form):
    current = PasswordField("当前密码", [DataRequired(REQUIRED)])
    password = PasswordField("新密码", [DataRequired(REQUIRED)], description="至少8位，须同时包含字母和数字")
    password_confirm = PasswordField("确认新密码", [DataRequired(REQUIRED), EqualTo("password", "两次输入的密码不一致")])


class PasswordResetForm(Form):
    password = PasswordField("新密码", [DataRequired(REQUIRED)], description="至少8位，须同时包含字母和数字")


class FontUploadForm(Form):
    """One document font (公文字体) uploaded in 系统设置; domain/fonts.py reads and checks it."""
    font = FileField("字体文件", [FileRequired("请选择字体文件")],
                     description="TrueType 或 OpenType 字体（.ttf、.otf、.ttc），不超过 25 MB")


class VerifyUploadForm(Form):
    """A PDF anyone uploads on the verification page, to check it against the register (domain/documents.py)."""
    file = FileField("PDF 文件", [FileRequired("请选择要核验的 PDF 文件")], description="PDF 文件，不超过 10 MB",
                     render_kw={"accept": "application/pdf"})


class EmptyForm(Form):
    """For buttons that only POST: carries the CSRF token."""


class ApplicationForm(Form):
    """The application's own fields; the member list is parsed from its rows (see parse_member_rows)."""

    version = HiddenField()
    requested_kind = SelectField("申请成立的党组织类别", choices=options(PartyOrgKind.choices()),
                                 description="正式党员不足3人的联合成立党支部；3至6人成立党支部；7人以上设支部委员会；"
                                             "50人以上可成立党总支；100人以上可成立基层党委")
    formal_members = count_field("正式党员人数", "已转正的党员，须与下方名单一致")
    probationary_members = count_field("预备党员人数", "尚在预备期的党员，须与下方名单一致")
    proposed_secretary = StringField("拟任书记", [Optional(), Length(max=40, message="姓名不超过40个字")],
                                     description="须为名单中的正式党员")
    partner_organisations = TextAreaField("联合组建单位", [Optional(), Length(max=500, message="不超过500个字")],
                                          description="仅联合党支部填写：一同组建的邻近单位的统一社会信用代码或全称，用顿号分隔；"
                                                      "摸底名录中的单位在党组织成立后计入已覆盖")
    work_need = BooleanField("因工作需要申请（党员不足50人申请党总支时勾选，并在理由中说明）")
    reasons = TextAreaField("申请理由", [Optional(), Length(max=2000, message="不超过2000个字")],
                            description="简述本单位党员、经营和党建工作情况，以及成立党组织的必要性")
    attachments = MultipleFileField("附件", description="PDF、JPG 或 PNG，单个文件不超过 10 MB；如党员组织关系证明、党员名册")
    # A construction project's organisation (工程项目) only: the project and the 三个同步 (THREE_SYNCS).
    project_name = StringField("工程项目名称", [Optional(), Length(max=100, message="不超过100个字")])
    project_builder = StringField("建设单位", [Optional(), Length(max=100, message="不超过100个字")])
    project_start = DateField("计划开工日期", [Optional()])
    project_end = DateField("计划竣工日期", [Optional()], description="计划工期六个月以上的项目单独成立党支部；项目结束后由党工委决定撤销、调整或保留")
    sync_founded = BooleanField(dict(THREE_SYNCS)["sync_founded"])
    sync_staffed = BooleanField(dict(THREE_SYNCS)["sync_staffed"])
    sync_working = BooleanField(dict(THREE_SYNCS)["sync_working"])

    def load_project(self, project) -> None:
        """Show the application's project (工程项目) in its fields, when it has one."""
        if project is not None:
            self.project_name.data, self.project_builder.data = project.name, project.builder
            self.project_start.data, self.project_end.data = project.planned_start, project.planned_end
            for column, _ in THREE_SYNCS:
                self[column].data = getattr(project, column)


class StepForm(Form):
    """A workflow step: the version the page showed, the reason, and what some steps need besides."""

    version = HiddenField()
    comment = TextAreaField("意见", [Optional(), Length(max=1000, message="不超过1000个字")])
    internal_note = TextAreaField("内部备注（申请人不可见）", [Optional(), Length(max=1000, message="不超过1000个字")])
    instructor_id = SelectField("选派党建指导员", coerce=int, validate_choice=False)
    reason = TextAreaField("超额选派理由", [Optional(), Length(max=500, message="不超过500个字")])
    unit_id = SelectField("转办至", coerce=int, validate_choice=False)


class ElectionForm(Form):
    version = HiddenField()
    election_date = DateField("党员大会日期", [InputRequired("请选择日期")])
    voters_expected = IntegerField("应到会有选举权的党员人数", [InputRequired("请填写人数"), NumberRange(1, 100000, "请填写正整数")])
    voters_present = IntegerField("实到会人数", [InputRequired("请填写人数"), NumberRange(0, 100000, "请填写0或正整数")])
    secretary_name = StringField("当选书记", [DataRequired(REQUIRED), Length(max=40, message="姓名不超过40个字")])
    secretary_votes = IntegerField("书记得票数", [InputRequired("请填写票数"), NumberRange(0, 100000, "请填写0或正整数")])
    # A committee's 委员 and their votes come as rows (committee_name, committee_votes), read by the route.


class RegistryImportForm(Form):
    file = FileField("摸底表文件", [FileRequired("请选择要导入的 .xlsx 或 .csv 文件")])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        rows = current_app.config["REGISTRY_IMPORT_MAX_ROWS"]  # the limit the import reads the file with
        self.file.description = f"Excel(.xlsx) 或 CSV 文件，最多 {rows} 行；请使用下方的模板，表头不要改动"


class InstructorForm(Form):
    name = StringField("姓名", [DataRequired(REQUIRED), Length(max=40, message="姓名不超过40个字")])
    home_organ = StringField("派出单位（机关单位）", [DataRequired(REQUIRED), Length(max=80, message="不超过80个字")])
    phone = StringField("联系电话", [Optional()], description="手机号或带区号的固定电话",
                        render_kw={"inputmode": "tel"})
    capacity = IntegerField("最多指导组织数", [InputRequired("请填写人数"), NumberRange(1, 100, "请填写 1 到 100 之间的整数")])
    unit_ids = SelectMultipleField("负责的初审单位", coerce=int, widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput(), description="选派时优先推荐负责该单位的指导员")


class UnitForm(Form):
    name = StringField("单位名称", [DataRequired(REQUIRED), Length(max=80, message="不超过80个字")])
    superior = StringField("上级党组织", [Optional(), Length(max=80, message="不超过80个字")],
                           description="领导经本单位成立的党组织的党委（全称，如：中共××委员会），批复将发给它并写明隶属它领导；"
                                       "留空表示由党工委直接领导。党组（如工商联党组）不能领导党支部，请填写相应的党委。")


class GuidanceVisitForm(Form):
    visited_on = DateField("指导日期", [InputRequired("请选择日期")])
    form = SelectField("指导方式", choices=options(VisitForm.choices()))
    topics = StringField("指导内容", [DataRequired("请填写指导内容"), Length(max=500, message="不超过500个字")])
    problems = TextAreaField("发现的问题", [Optional(), Length(max=2000, message="不超过2000个字")])
    follow_up = TextAreaField("后续跟进", [Optional(), Length(max=2000, message="不超过2000个字")])


class DeliveryForm(Form):
    delivered_on = DateField("送达日期", [InputRequired("请选择日期")])
    photo = FileField("照片（可选）")


class SeatForm(Form):
    """补选 / 调整 of a committee seat (党组织档案): the form names what each step reads; the domain checks the rest."""

    version = HiddenField()
    name = StringField("姓名", [Optional(), Length(max=40, message="不超过40个字")])
    seat_id = SelectField("班子成员", coerce=int, validate_choice=False)
    post = SelectField("职务", validate_choice=False)
    day = DateField("日期", [InputRequired("请选择日期")])
    reason = TextAreaField("理由", [DataRequired("须填写理由"), Length(max=500, message="不超过500个字")])


class TermLengthForm(Form):
    party_org_kind = SelectField("党组织类别", choices=options(PartyOrgKind.choices()), validators=[DataRequired(REQUIRED)])
    years = IntegerField("每届任期（年）", [InputRequired("请填写年限"), NumberRange(3, 5, "应为3至5年")],
                         description="党章规定基层组织每届任期3年至5年；只影响此后开始的任期")


class RecordStepForm(Form):
    """撤销, 更名, 合并 and a project branch's steps (党组织档案): what each reads; the domain checks the rest."""

    version = HiddenField()
    reason = TextAreaField("理由", [Optional(), Length(max=300, message="不超过300个字")])
    receiving_id = SelectField("党员转入", coerce=int, validate_choice=False)
    new_name = StringField("新名称", [Optional(), Length(max=150, message="不超过150个字")])
    ended_on = DateField("项目结束日期", [Optional()])
    review_on = DateField("复核日期", [Optional()])


class ReassignForm(Form):
    instructor_id = SelectField("改派给", coerce=int, validate_choice=False)
    reason = TextAreaField("改派理由", [DataRequired("改派须填写理由"), Length(max=500, message="不超过500个字")])


class FundStandardForm(Form):
    party_org_kind = SelectField("党组织类别", choices=options(PartyOrgKind.choices()), validators=[DataRequired(REQUIRED)])
    amount = StringField("标准金额（元）", [DataRequired(REQUIRED)], description="1000 至 3000 元之间，如 2000")
    effective_from = DateField("生效日期", [InputRequired("请选择生效日期")],
                               description="自该日起成立的党组织按此标准；原标准于前一日终止，历史保留")
    note = StringField("说明", [Optional(), Length(max=200, message="不超过200个字")])


class FundConfirmForm(Form):
    version = HiddenField()
    amount = StringField("核定金额（元）", [Optional()], description="留空即按标准金额；可在 1000 至 3000 元之间调整")
    reason = StringField("调整理由", [Optional(), Length(max=300, message="不超过300个字")],
                         description="核定金额与标准不同时必填")


class PayeeForm(Form):
    account_name = StringField("开户名", [DataRequired(REQUIRED), Length(max=100, message="不超过100个字")],
                               description="与银行预留名称一致，一般为单位全称")
    bank_name = StringField("开户行", [DataRequired(REQUIRED), Length(max=100, message="不超过100个字")],
                            description="写到支行，如：中国工商银行通辽开发区支行")
    account_number = StringField("账号", [DataRequired(REQUIRED), Length(max=60, message="账号过长")],
                                 description="8至30位数字，可按存折上的分组带空格输入",
                                 render_kw={"inputmode": "numeric", "autocomplete": "off"})
    bank_document = FileField("开户许可证或银行回单（可选）",
                              description="图片或 PDF，不超过 10 MB；财务据此核对开户名、开户行和账号，可加快核验")


class PayeeCheckForm(Form):
    """Finance's check of a payee (核验收款账户): the domain verb reads and refuses the fields, beside each."""
    version = HiddenField()
    method = HiddenField()  # two radio buttons in the template; funds.check_payee refuses anything else
    confirmed = HiddenField()  # checkboxes in the template, read with getlist; here for the errors beside them
    retyped_account = StringField("再次录入账号", description="对照单位提供的账户信息录入，须与单位填报的一致",
                                  render_kw={"inputmode": "numeric", "autocomplete": "off"})
    bank_document = FileField("上传开户许可证或银行回单", description="单位未上传或需更换时上传；图片或 PDF，不超过 10 MB")


class PayeeReturnForm(Form):
    version = HiddenField()
    reason = StringField("退回理由", [DataRequired("请写明退回理由（单位将看到这段话）"),
                                   Length(max=300, message="不超过300个字")],
                         description="单位将看到这段话，如：开户名与开户许可证不一致，请按开户许可证填写")


class PaymentForm(Form):
    version = HiddenField()
    voucher_number = StringField("凭证号", [DataRequired(REQUIRED), Length(max=40, message="不超过40个字符")])
    paid_on = DateField("拨付日期", [InputRequired("请选择拨付日期")])


class ReversalForm(Form):
    version = HiddenField()
    reason = StringField("冲销理由", [DataRequired("冲销须填写理由"), Length(max=300, message="不超过300个字")])


class SubstituteForm(Form):
    substitute_id = SelectField("代理人", coerce=int, validate_choice=False)
    starts_on = DateField("开始日期", [InputRequired("请选择开始日期")])
    ends_on = DateField("结束日期（当天起不再代理）", [InputRequired("请选择结束日期")])
    reason = StringField("代理事由", [DataRequired("请填写代理事由"), Length(max=200, message="不超过200个字")])


class RenewalForm(Form):
    """A step of 换届 or 延期/提前换届 (党组织档案's 换届 panel): each step reads the fields it needs, the domain checks
    the rest. The names are typed as 张三、李四."""

    version = HiddenField()
    planned_on = DateField("计划选举日期", [Optional()])
    elected_on = DateField("选举日期", [Optional()])
    new_date = DateField("新的换届日期", [Optional()])
    secretary = StringField("书记", [Optional(), Length(max=40, message="姓名不超过40个字")])
    deputies = StringField("副书记", [Optional(), Length(max=200, message="不超过200个字")])
    members = StringField("其他委员", [Optional(), Length(max=500, message="不超过500个字")])
    reason = TextAreaField("理由", [Optional(), Length(max=500, message="不超过500个字")])
