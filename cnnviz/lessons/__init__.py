"""Lessons page: the classic tutorials as guided steps (lessons: the data; widgets: the page)."""
