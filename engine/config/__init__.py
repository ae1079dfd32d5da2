"""Settings sections that `engine/settings.py` composes and the pipelines read.

A module here imports no engine pipeline package, so the settings stand below every package
that reads them (`route` reads `config.route`, never the other way round).
"""
