"""The embedded TTS binding: samples, sample-exact word events, languages, rate."""

import numpy as np
import pytest

from voxpost.errors import ParameterError
from voxpost.espeak import check_language, languages, synthesize


def test_words_are_in_order_and_inside_the_audio():
    s = synthesize("Hello there, general Kenobi.", language="en")
    assert s.sample_rate == 22050 and s.samples.dtype == np.float32
    assert [w.text for w in s.words] == ["Hello", "there", "general", "Kenobi"]
    starts = [w.start for w in s.words]
    assert starts == sorted(starts) and all(0 <= w.start <= w.end <= s.samples.size for w in s.words)
    # The audio before the first word is near-silent and the first word is voiced.
    first = s.words[0]
    assert np.abs(s.samples[: max(first.start - 200, 1)]).max() < 0.05
    assert np.abs(s.samples[first.start: first.end]).max() > 0.1


def test_rate_changes_duration():
    text = "A horse trotting on cobblestones, distant, in the rain."
    slow, fast = synthesize(text, rate_wpm=120), synthesize(text, rate_wpm=300)
    assert slow.duration_s > 1.8 * fast.duration_s


@pytest.mark.parametrize("lang", ["de", "fr", "es", "pt", "en-us", "EN_GB"])
def test_languages(lang):
    assert check_language(lang) in languages()
    assert synthesize("Dies ist ein Test.", language=lang).samples.size > 1000


def test_unknown_language_lists_close_ones():
    with pytest.raises(ParameterError, match="does not speak language 'xx'.*voxpost languages"):
        check_language("xx")
    with pytest.raises(ParameterError, match="close: .*en-gb"):
        check_language("en-zz")


def test_bad_rate():
    with pytest.raises(ParameterError, match="80..450"):
        synthesize("hi", rate_wpm=1000)
