"""A trained TensorFlow model is restored without a training step.

Rasa 3.6's ``RasaModel.load`` builds the model's weights by running one
training step (``model.fit`` on one example), then overwrites them from the
checkpoint, then predicts once so the prediction graph is traced. The
training step traces Keras' whole train function: about 14 of the 25 seconds
our Rasa server took to become ready (issue 12: ready in 15 s or less), and
none of it is needed to predict.

Here the checkpoint is read first and the prediction on the same example
builds the variables (its graph traced without AutoGraph, see below): TensorFlow's object-based checkpoints restore each
variable as it is created, from its place in the model (attribute names, not
creation order). Variables only the training step would create (the
optimizer's slots) are left unread on purpose. The result is checked: every
variable the prediction created must have come from the checkpoint, otherwise
the stock path runs. Fine-tuning, and a load without a prediction example,
take Rasa's own path unchanged. tests/integration/test_model_load.py compares
both paths' predictions on the held-out messages.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

import tensorflow as tf
from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
from rasa.utils.tensorflow.model_data import RasaModelData
from rasa.utils.tensorflow.models import RasaModel

logger = logging.getLogger(__name__)
ORIGINAL = RasaModel.load.__func__


def _first_batch(data: RasaModelData) -> Any:
    from rasa.utils.train_utils import create_data_generators

    generator, _ = create_data_generators(model_data=data, batch_sizes=1, epochs=1, shuffle=False)
    return next(iter(generator))[0]


def load(
    cls: Any,
    model_file_name: str,
    model_data_example: RasaModelData,
    predict_data_example: Optional[RasaModelData] = None,
    finetune_mode: bool = False,
    *args: Any,
    **kwargs: Any,
) -> RasaModel:
    if finetune_mode or not predict_data_example:
        return ORIGINAL(cls, model_file_name, model_data_example, predict_data_example,
                        finetune_mode, *args, **kwargs)
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    # Compiled as Rasa compiles it, so the object is the same apart from how
    # its weights were built.
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
                  run_eagerly=config.get(RUN_EAGERLY))
    status = model.load_weights(model_file_name)
    # Rasa builds this function on the first prediction, with AutoGraph, whose
    # source-to-graph conversion is most of what is left of the load time. The
    # prediction step has no control flow on tensors (tracing would fail if
    # it had), so plain tracing builds the same graph.
    signature = model._dynamic_signature(_first_batch(predict_data_example))
    model._tf_predict_step = tf.function(model.predict_step, input_signature=signature,
                                         autograph=False)
    model.run_inference(predict_data_example)
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        logger.warning("Checkpoint restore incomplete (%s); loading with Rasa's training step",
                       error)
        return ORIGINAL(cls, model_file_name, model_data_example, predict_data_example,
                        finetune_mode, *args, **kwargs)
    status.expect_partial()
    return model


def install() -> None:
    RasaModel.load = classmethod(load)
