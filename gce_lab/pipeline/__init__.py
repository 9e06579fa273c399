"""The experiment pipeline: data, models, the trainer, profiles, planning, running and storing runs."""
