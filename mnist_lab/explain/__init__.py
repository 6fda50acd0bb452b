"""Why did a model say that, and how fragile is it: explanations computed from trained runs.

One module per question, all working through the engine registry on any run with a model:
`saliency` (which pixels moved a class's score), `adversarial` (the smallest change that makes
a model read another digit), `calibration` (do its confidences mean what they say),
`robustness` (accuracy on rotated, shifted, scaled, thickened, noisy and blurred digits) and
`label_issues` (digits whose given label the models confidently disagree with). Nothing here
imports Streamlit; the pages cache the cheap results, the costly ones are cached on disk.
"""
