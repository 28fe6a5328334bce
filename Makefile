# The two commands of the README: `make run` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# The address printed into the documents' QR codes: the one `make run` serves on, unless PUBLIC_BASE_URL says another.
export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
FLASK  := $(BIN)/flask --app app

# Debian/Ubuntu packages: the PDFs need the CJK fonts and HarfBuzz's subsetter (50x faster PDFs);
# the tests also need Chromium and poppler's pdffonts/pdftoppm.
RUN_PACKAGES  := fonts-noto-cjk fontconfig libharfbuzz-subset0
TEST_PACKAGES := $(RUN_PACKAGES) chromium poppler-utils zbar-tools


# The free 仿宋 that the 批复 and the dossier use until the zone uploads its licensed fonts (domain/fonts.py):
# FandolFang (GPL with the font exception), one 7-MB file taken out of Debian's texlive-lang-chinese. The package
# is a 49-MB download that installs 97 MB and pulls in TeX Live's base, so `make` downloads the .deb, keeps the one
# file in the git-ignored instance/fonts/ and deletes the rest; the app never downloads anything while it runs.
FONT_DIR := instance/fonts
FANDOL   := $(FONT_DIR)/FandolFang-Regular.otf
FANDOL_IN_DEB := ./usr/share/texlive/texmf-dist/fonts/opentype/public/fandol/FandolFang-Regular.otf

.PHONY: run serve test venv dev-venv system-packages-run system-packages-test fonts migrate seed bench screenshots clean

run: venv system-packages-run fonts migrate seed
	@echo ""
	@echo "  开发区党组织组建管理系统: http://127.0.0.1:$(PORT)"
	@echo "  批复二维码中的核验地址 (PUBLIC_BASE_URL): $(PUBLIC_BASE_URL)"
	@echo "  演示账号（密码均为 demo-2026）: applicant reviewer zone instructor finance admin"
	@echo "  其他初审单位: reviewer-logistics reviewer-federation reviewer-civil reviewer-market"
	@echo "                reviewer-east reviewer-west reviewer-south reviewer-north"
	@echo ""
	@$(call with_consumer,$(FLASK) run --host 127.0.0.1 --port $(PORT),--quiet)

# The production shape, locally: gunicorn's WORKERS processes plus one consumer of the job queue, on PORT, against
# DATABASE_URL (and JOBS_URL). No demo data: create the first admin with `.venv/bin/flask --app app create-admin`.
# Several hosts: README, Production.
WORKERS ?= 2
HOST    ?= 127.0.0.1
serve: venv system-packages-run fonts migrate
	@$(call with_consumer,$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) 'app:create_app()')

# Run $(1) with one consumer of the job queue (jobs/) beside it, as one command: the consumer stops when $(1) does
# (Ctrl-C included), and by itself if this shell is killed (--exit-with-parent). $(2): more options of the consumer
# (`make run` passes --quiet: warnings and errors only, so the web server's lines stay readable).
define with_consumer
$(FLASK) jobs consume --exit-with-parent $(2) & consumer=$$!; \
	trap 'kill $$consumer 2>/dev/null; wait $$consumer' EXIT INT TERM; \
	$(1)
endef

test: dev-venv system-packages-test fonts
	$(BIN)/pytest $(PYTEST_ARGS)

venv: $(VENV)/.installed
# The tests' and benchmarks' tools, over what the app needs to run.
dev-venv: $(VENV)/.installed-dev

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "需要 Python 3.11 或更高版本 (Python >= 3.11 is required)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || \
		{ echo "无法创建虚拟环境，请先执行: sudo apt-get install -y python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# Install what is missing with apt when we may (root, or sudo without a password); otherwise say
# the exact command. `make run` goes on without them (PDFs then lack fonts); `make test` stops.
define apt_ensure
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi; \
		if [ "$$SUDO" != none ] && command -v apt-get >/dev/null; then \
			echo "安装系统软件包: $$missing"; \
			$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "缺少系统软件包，请执行: sudo apt-get install -y $$missing"; $(2); \
		fi; \
	fi
endef

system-packages-run:
	$(call apt_ensure,$(RUN_PACKAGES),true)

system-packages-test:
	$(call apt_ensure,$(TEST_PACKAGES),exit 1)

# Without apt (or with no way to reach it) the documents are set in Noto Serif CJK SC instead: said, not fatal.
fonts: $(FANDOL)

$(FANDOL):
	@mkdir -p $(FONT_DIR); tmp=$$(mktemp -d); chmod 755 $$tmp; \
	get() { (cd $$tmp && apt-get download -qq texlive-lang-chinese) >/dev/null 2>&1; }; \
	if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then \
		echo "下载免费仿宋字体 FandolFang (texlive-lang-chinese, 49 MB, 只保留其中 7 MB 的字体文件)"; \
		get || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && get; \
		         elif sudo -n true 2>/dev/null; then sudo apt-get update -qq && get; else false; fi; }; \
	fi; \
	deb=$$(ls $$tmp/texlive-lang-chinese_*.deb 2>/dev/null | head -1); \
	if [ -n "$$deb" ] && dpkg-deb --fsys-tarfile "$$deb" | tar -x -C $$tmp $(FANDOL_IN_DEB) \
		&& mv $$tmp/$(FANDOL_IN_DEB) $@.part && mv $@.part $@; then \
		echo "已保存 $@"; \
	else \
		echo "未能取得 FandolFang：公文将用 Noto Serif CJK SC 排版，或由管理员在系统设置中上传字体"; \
	fi; \
	rm -rf $$tmp

migrate: venv
	$(FLASK) db upgrade

seed: venv
	$(FLASK) seed-demo --if-empty

# Timings at the zone's scale (11,000 organisations, 5,000 applications) on SQLite, and on PostgreSQL with
# the load test when BENCH_PG names a database whose name contains "bench" (its schema is dropped and rebuilt):
#   make bench BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/zone_bench_load
# Prints the table, writes bench/results.json and bench/RESULTS.md. Never part of `make test`.
BENCH_PG ?=
bench: dev-venv
	$(BIN)/python bench/run.py --pg "$(BENCH_PG)"

# Each role's main page at 375 and 1440 px into docs/screenshots/ (the README shows them).
screenshots: dev-venv system-packages-test
	$(BIN)/python docs/make_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache
