load_subconfig("autograder/nbgrader_config.py")  # noqa: F821 (the course's nbgrader settings)
