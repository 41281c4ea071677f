"""ML backends: Label Studio's ML backend protocol (/health, /setup, /predict, /webhook,
/versions), connections per project, prediction runs and training signals as jobs."""
