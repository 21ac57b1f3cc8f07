"""Frequency views of the displayed signals.

* :mod:`.reading` (Qt-free, cheap to import): what a spectrum is computed from
  (:class:`~.reading.SpectrumRequest`, a snapshot of what the viewer shows) and the
  computations, run on a worker thread;
* :mod:`.psd_view`: the power spectral density of channels, with a peak readout;
* :mod:`.spectrogram_view`: the spectrogram of one channel, with a colour bar.

The views draw what they are given. ``tracemark.app.spectrum_dock`` puts them in docks and
keeps them following the viewer; it imports the view modules (pyqtgraph) only when a dock
is first shown, which is why this package imports nothing itself.
"""
