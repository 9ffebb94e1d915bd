"""Challenges and a class leaderboard (issue 13 item 3).

* :mod:`cnnviz.challenges.rules`: the challenge cards as data, and how a measured result passes and ranks;
* :mod:`cnnviz.challenges.grading`: the server's own measurement of a submitted model (test accuracy on the
  dataset's test split, parameters from the model, epochs from its training record);
* :mod:`cnnviz.challenges.db`: the submissions table (SQLAlchemy Core; SQLite in WAL mode, or PostgreSQL),
  nickname and class-code checks, the per-session rate limit and the teacher's token;
* :mod:`cnnviz.challenges.widgets`: the Challenges page's cards, submit form, live leaderboard and teacher tools.

Importing this package touches no database and imports neither Keras nor Streamlit.
"""
