"""The dubbing script reader: SRT and CSV parsing, validation, and one-line errors."""

import pytest

from voxpost.dub.script import ScriptError, ScriptLine, format_time, parse_csv, parse_srt, read_script
from voxpost.errors import VoxpostError

CLEAN_SRT = """1
00:00:01,000 --> 00:00:02,500
Bonjour.

2
00:00:03,250 --> 00:00:05,999
Où est-il ?
Je ne sais pas.

3
00:01:02,345 --> 01:00:00,001
Fin.
"""


def write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def script_error(tmp_path, name, content, **options) -> str:
    """Read ``content`` as file ``name``, expect a one-line ScriptError, return its message."""
    with pytest.raises(ScriptError) as info:
        read_script(write(tmp_path, name, content), **options)
    message = str(info.value)
    assert isinstance(info.value, VoxpostError)
    assert "\n" not in message and message
    return message


def test_clean_srt_round_trip(tmp_path):
    script = read_script(write(tmp_path, "ep.srt", CLEAN_SRT))
    assert script.source == "ep.srt"
    assert script.warnings == []
    assert [(line.index, line.label, line.start_s, line.end_s, line.text) for line in script.lines] == [
        (1, "1", 1.0, 2.5, "Bonjour."),
        (2, "2", 3.25, 5.999, "Où est-il ? Je ne sais pas."),
        (3, "3", 62.345, 3600.001, "Fin."),
    ]
    assert [format_time(line.start_s) for line in script.lines] == ["00:00:01,000", "00:00:03,250", "00:01:02,345"]
    assert format_time(script.lines[2].end_s) == "01:00:00,001"
    assert script.lines[0] == ScriptLine(1, 1.0, 2.5, "Bonjour.", label="1")


def test_srt_bom_crlf_blank_lines_and_no_final_newline(tmp_path):
    text = (
        "\ufeff1\r\n00:00:01.5 --> 00:00:02.25  X1:100 X2:200 Y1:10 Y2:20\r\nHello   \r\n\r\n\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000\r\nBye"
    )
    script = read_script(write(tmp_path, "ep.srt", text))
    assert [(line.start_s, line.end_s, line.text) for line in script.lines] == [
        (1.5, 2.25, "Hello"), (3.0, 4.0, "Bye"),
    ]
    assert script.warnings == []


def test_srt_utf16_with_bom(tmp_path):
    script = read_script(write(tmp_path, "ep.srt", CLEAN_SRT.encode("utf-16")))
    assert [line.text for line in script.lines][1] == "Où est-il ? Je ne sais pas."


def test_srt_broken_numbering_keeps_file_order_with_one_warning(tmp_path):
    text = (
        "7\n00:00:01,000 --> 00:00:02,000\nA\n\n"
        "00:00:03,000 --> 00:00:04,000\nB\n\n"
        "7\n00:00:05,000 --> 00:00:06,000\nC\n\n"
        "x\n00:00:07,000 --> 00:00:08,000\nD\n"
    )
    script = read_script(write(tmp_path, "ep.srt", text))
    assert [(line.index, line.label, line.text) for line in script.lines] == [
        (1, "7", "A"), (2, "", "B"), (3, "7", "C"), (4, "x", "D"),
    ]
    assert len(script.warnings) == 1
    assert "ep.srt" in script.warnings[0] and "file order" in script.warnings[0]


def test_srt_tags_stripped(tmp_path):
    text = '1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>Vite</i>, <b>viens</b> <font color="red">ici</font> !\n'
    assert read_script(write(tmp_path, "ep.srt", text)).lines[0].text == "Vite, viens ici !"


def test_srt_missing_timing_line_names_the_file_line(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03 - 00:00:04\nB\n"
    message = script_error(tmp_path, "ep.srt", text)
    assert "ep.srt:5:" in message and "line 6" in message and "timing" in message


def test_srt_bad_timestamp_value(tmp_path):
    message = script_error(tmp_path, "ep.srt", "1\n00:00:75,000 --> 00:01:20,000\nA\n")
    assert "ep.srt:2:" in message and "00:00:75,000" in message


def test_overlap_names_both_lines_and_times(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:05,200\nA\n\n2\n00:00:05,000 --> 00:00:06,000\nB\n"
    message = script_error(tmp_path, "ep.srt", text)
    assert "lines 1 and 2 overlap" in message
    assert "line 1 ends 00:00:05,200" in message and "line 2 starts 00:00:05,000" in message


def test_out_of_time_order(tmp_path):
    text = "1\n00:00:05,000 --> 00:00:06,000\nA\n\n2\n00:00:01,000 --> 00:00:02,000\nB\n"
    message = script_error(tmp_path, "ep.srt", text)
    assert "lines 1 and 2 are not in time order" in message


def test_overlap_with_different_speakers_is_allowed_in_csv(tmp_path):
    text = "start,end,text,speaker\n1.0,4.0,Tais-toi !,Anna\n3.0,5.0,Non !,Marc\n4.5,6.0,Si.,Anna\n"
    script = read_script(write(tmp_path, "ep.csv", text))
    assert [(line.speaker, line.start_s) for line in script.lines] == [("Anna", 1.0), ("Marc", 3.0), ("Anna", 4.5)]


def test_overlap_with_same_speaker_behind_another_is_an_error(tmp_path):
    text = "start,end,text,speaker\n1.0,4.0,A,Anna\n2.0,3.0,B,Marc\n3.5,5.0,C,anna\n"
    assert "lines 1 and 3 overlap" in script_error(tmp_path, "ep.csv", text)


def test_overlap_without_speaker_is_an_error(tmp_path):
    text = "start,end,text,speaker\n1.0,4.0,A,Anna\n3.0,5.0,B,\n"
    assert "lines 1 and 2 overlap" in script_error(tmp_path, "ep.csv", text)


def test_empty_cue_is_an_error(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03,000 --> 00:00:04,000\n<i> </i>\n"
    message = script_error(tmp_path, "ep.srt", text)
    assert "line 2 (cue '2') has no text; remove the cue or write the line" in message


def test_end_before_start_and_negative_times(tmp_path):
    assert "at or before it starts" in script_error(tmp_path, "a.srt", "1\n00:00:02,000 --> 00:00:02,000\nA\n")
    assert "negative" in script_error(tmp_path, "b.csv", "start,end,text\n-1.0,2.0,A\n")


def test_start_beyond_duration_is_an_error(tmp_path):
    text = "1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:10:05,000 --> 00:10:06,000\nB\n"
    message = script_error(tmp_path, "ep.srt", text, duration_s=600.0)
    assert "line 2 (cue '2') starts at 00:10:05,000, after the end of the original (00:10:00,000)" in message


def test_end_past_duration_is_clamped_with_a_warning(tmp_path):
    text = "1\n00:09:58,000 --> 00:10:03,000\nA\n"
    script = read_script(write(tmp_path, "ep.srt", text), duration_s=600.0)
    assert script.lines[0].end_s == 600.0
    assert len(script.warnings) == 1 and "clamped" in script.warnings[0]


def test_csv_semicolons_and_aliases(tmp_path):
    text = (
        "\ufeffTC_In;TC_Out;Translation;Character;Original_Text;#\n"
        '00:00:01,500;00:00:02.750;"  Salut,\n  toi. ";Anna;Hi, you.;12\n'
        ";;;;;\n"
        "01:02.5;63;Ça va ?;;;13\n"
    )
    script = read_script(write(tmp_path, "ep.csv", text))
    rows = [(line.start_s, line.end_s, line.text, line.speaker, line.original, line.label) for line in script.lines]
    assert rows == [
        (1.5, 2.75, "Salut, toi.", "Anna", "Hi, you.", "12"),
        (62.5, 63.0, "Ça va ?", None, None, "13"),
    ]


def test_tsv_with_decimal_comma_seconds(tmp_path):
    script = read_script(write(tmp_path, "ep.tsv", "begin\tstop\tdub\n1,25\t2,5\tOui.\n"))
    assert (script.lines[0].start_s, script.lines[0].end_s) == (1.25, 2.5)


def test_csv_missing_end_column(tmp_path):
    message = script_error(tmp_path, "ep.csv", "start,text,speaker\n1.0,A,Anna\n")
    assert "end" in message and "'start', 'text', 'speaker'" in message


def test_csv_unparsable_time_names_row_and_cell(tmp_path):
    message = script_error(tmp_path, "ep.csv", "start,end,text\n1.0,2.0,A\n3.0,four,B\n")
    assert "ep.csv:3:" in message and "'four'" in message and "end" in message


def test_csv_extra_cells_are_an_error(tmp_path):
    message = script_error(tmp_path, "ep.csv", "start,end,text\n1.0,2.0,Oui, oui\n")
    assert "ep.csv:2:" in message and "quote" in message


def test_smpte_timecodes_with_fps(tmp_path):
    script = read_script(write(tmp_path, "ep.csv", "in,out,text\n00:00:01:12,00:00:02:00,A\n"), fps=25)
    assert script.lines[0].start_s == pytest.approx(1.48)
    assert script.lines[0].end_s == pytest.approx(2.0)


def test_smpte_timecodes_without_fps(tmp_path):
    message = script_error(tmp_path, "ep.csv", "in,out,text\n00:00:01:12,00:00:02:00,A\n")
    assert "--fps" in message and "ep.csv:2:" in message


def test_smpte_frame_out_of_range(tmp_path):
    assert "25 fps" in script_error(tmp_path, "ep.csv", "in,out,text\n00:00:01:25,00:00:02:00,A\n", fps=25)


def test_unknown_extension(tmp_path):
    message = script_error(tmp_path, "ep.txt", CLEAN_SRT)
    assert ".srt" in message and ".csv" in message and ".tsv" in message


def test_non_utf8_bytes(tmp_path):
    message = script_error(tmp_path, "ep.srt", "1\n00:00:01,000 --> 00:00:02,000\nCaf\xe9\n".encode("latin-1"))
    assert "not UTF-8" in message and "ep.srt:3:" in message


def test_missing_file(tmp_path):
    with pytest.raises(ScriptError) as info:
        read_script(tmp_path / "nope.srt")
    assert "\n" not in str(info.value) and "No such file" in str(info.value)


@pytest.mark.parametrize(
    "name, content", [("a.srt", ""), ("b.srt", "\n \n"), ("c.csv", ""), ("d.csv", "start,end,text\n")]
)
def test_empty_scripts(tmp_path, name, content):
    script_error(tmp_path, name, content)


def test_parse_functions_take_text_directly():
    assert parse_srt(CLEAN_SRT, name="x.srt").lines[2].text == "Fin."
    assert parse_csv("start,end,text\n0:01.000,0:02.000,A\n").source == "script"
