"""SML (Smart Message Language): the push of German eHZ/mME meters."""
