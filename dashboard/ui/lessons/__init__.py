"""Lessons: a lesson's runs panel and results, with its figures."""
