"""What every lesson shares: the Lesson object, the syllabus, threads, the training loop, the figure style, doctor."""
