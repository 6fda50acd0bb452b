"""Train's figures: learning curves (also drawn by Compare, Sweeps and Lessons), schedules."""
