"""A classic Keras MNIST script, as the keras-io examples write it, plus one callback.

The tests run it as a real process: ``python tests/notebook_script.py [SUBSET] [EPOCHS]
[PAUSE_S]``. The only lab line is ``callbacks=[LabCallback(...)]``; the pause (a sleep
after each batch) slows the fit down so that a test or a browser can catch it live. It
prints its own ``model.evaluate`` accuracy on the test set.
"""

import sys
import time

import keras

from mnist_lab import LabCallback
from mnist_lab.data import load_mnist

SUBSET = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
EPOCHS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
PAUSE_S = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

# The embedded MNIST: keras.datasets.mnist.load_data() would download it.
data = load_mnist()
x_train = data.x_train[:SUBSET].astype("float32") / 255
y_train = data.y_train[:SUBSET]
x_test = data.x_test.astype("float32") / 255

keras.utils.set_random_seed(0)
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# Only for the tests that must catch the fit live: a plain script has no such line.
slow = [keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: time.sleep(PAUSE_S))]
model.fit(
    x_train,
    y_train,
    batch_size=32,
    epochs=EPOCHS,
    validation_split=0.1,
    verbose=0,
    callbacks=[LabCallback(name="classic MLP"), *(slow if PAUSE_S else [])],
)
loss, accuracy = model.evaluate(x_test, data.y_test, verbose=0)
print(f"script test accuracy {accuracy:.6f}", flush=True)
