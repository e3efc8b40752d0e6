"""Browser tests: notebooks run through the JupyterLab UI in Chromium (marker ``browser``)."""
