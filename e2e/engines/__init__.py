"""The learner's flows in three engines: Chromium (Playwright), Firefox ESR (puppeteer-core over
WebDriver BiDi) and WebKitGTK (Selenium), against `python -m pyserver serve --web dist/web`."""
