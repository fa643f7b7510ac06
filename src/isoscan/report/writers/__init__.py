"""Report writers, one module per format: JSON, JUnit XML, Markdown, SVG/HTML matrix picture."""
