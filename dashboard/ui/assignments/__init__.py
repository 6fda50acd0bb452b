"""Assignments on the pages: the teacher's editor and results, the students' view and marks."""
