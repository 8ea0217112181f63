from setuptools import find_packages, setup

setup(
    name="usm_espnet",
    version="0.1.0",
    description="Universal Speech Model (USM) recipes and modules as ESPnet plugins",
    packages=find_packages(include=["usm_espnet", "usm_espnet.*"]),
    # --help texts of the ESPnet-backed entry points (usm_espnet/bin/_help.py)
    # the parallel text's translated templates (usm_espnet/standin/parallel_text.py)
    package_data={"usm_espnet.bin": ["help/*.txt"], "usm_espnet.report": ["paper_numbers.tsv"],
                  "usm_espnet.standin": ["data/*.json"]},
    python_requires=">=3.12",
    install_requires=[
        "espnet==202611",
        "torch==2.11.0",
        "torchaudio==2.11.0",
        "sentencepiece",
        "jiwer",
        "sacrebleu",
        "kaldiio",
        "numpy",
        "soundfile",
        "espeakng-loader",
        "babel",
        "num2words",
        "tqdm",
        "matplotlib",
    ],
    extras_require={"test": ["pytest", "pytest-timeout"]},
)
