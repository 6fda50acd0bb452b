"""The Class page: the class's tables, the teacher's queue controls, the class's figures."""
