"""Each lesson's figure helpers, one module per lesson named by its slug; the style is `course.runtime.style`."""
