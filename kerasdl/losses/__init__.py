"""Losses Keras lacks, one module per task family (generative, evidential, detection,
metric learning, style transfer). Each is a plain function ``loss(y_true, y_pred)`` or a
registered ``keras.losses.Loss`` subclass, with the formula and paper in its docstring."""
