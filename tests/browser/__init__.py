"""Real-browser tests: headless Chromium runs cross-origin fetch() against the middlewares."""
