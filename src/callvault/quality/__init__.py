"""Quality assurance (§2): evaluation forms, evaluations, calibration, agent feedback, reports."""
