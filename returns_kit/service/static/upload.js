// Drag and drop onto the upload form: an enhancement; the file picker works without it.
