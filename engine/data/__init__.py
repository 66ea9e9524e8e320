# SPDX-License-Identifier: MIT
"""Training data: phrases from the Bach chorales or a folder of MIDI files, and their store.

- :mod:`engine.data.build`: ``barforge data build`` (sources to a store; the choices made);
- :mod:`engine.data.chorales`, :mod:`engine.data.midi_folder`, :mod:`engine.data.track_map`:
  the sources, as engine patterns with the model's tracks;
- :mod:`engine.data.phrases`: pieces to phrases on the roll grid;
- :mod:`engine.data.store`: ``phrases.npz`` + ``manifest.json`` and
  :class:`~engine.data.store.PhraseDataset`, the loader (with transposition augmentation);
- :mod:`engine.data.worker`, :mod:`engine.data.progress`: one file's work; the progress bar.

Nothing here imports torch or Qt; music21 is imported only where chorales are read.
"""
