"""The MNIST table page's views and figures."""
