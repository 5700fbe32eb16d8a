"""Figure helpers shared by lessons: one style, one palette, fixed sizes."""
