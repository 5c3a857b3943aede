import unicodedata

from dichvucong.text import canonical, find_phrases, fold, fold_with_map, lemma, normalize


def test_fold_removes_diacritics_and_d_stroke():
    assert fold("Đăng ký KHAI SINH") == "dang ky khai sinh"
    assert fold("căn cước") == fold("can cuoc") == "can cuoc"


def test_fold_treats_old_and_new_tone_placement_alike():
    assert fold("hoà") == fold("hòa") == "hoa"
    assert fold("thuý") == fold("thúy")


def test_decomposed_input_folds_like_composed_and_maps_back():
    nfd = unicodedata.normalize("NFD", "thẻ căn cước")
    folded, origin = fold_with_map(nfd)
    assert folded == "the can cuoc"
    assert len(origin) == len(folded)
    assert all(0 <= i < len(nfd) for i in origin)


def test_normalize_composes_and_collapses_whitespace():
    nfd = unicodedata.normalize("NFD", "  lệ   phí ")
    assert normalize(nfd) == "lệ phí"
    assert unicodedata.is_normalized("NFC", normalize(nfd))


def test_lemma_expands_chat_abbreviations():
    assert lemma("ko") == "khong"
    assert lemma("đc") == "duoc"
    assert lemma("j") == "gi"
    assert lemma("CCCD") == "can cuoc cong dan"
    assert lemma("hỏng") == "hong"  # "hỏng" (broken) must not become "không"


def test_canonical_for_whole_messages():
    assert canonical("Làm cccd ko dc à?") == "lam can cuoc cong dan khong duoc a"


def test_find_phrases_reports_offsets_in_the_original_text():
    text = "Tôi muốn làm Căn Cước cho con"
    hits = find_phrases(text, {"căn cước": "can_cuoc"})
    assert hits == [(13, 21, "can_cuoc", "Căn Cước")]


def test_find_phrases_respects_word_boundaries_and_prefers_longest():
    phrases = {"khai sinh": "khai_sinh", "dang ky khai sinh": "khai_sinh", "ho": "x"}
    assert find_phrases("hoso khai sinhh", phrases, typos=False) == []
    hits = find_phrases("dang ky khai sinh", phrases)
    assert [(h[0], h[1]) for h in hits] == [(0, 17)]


def test_find_phrases_expands_abbreviations_on_both_sides():
    phrases = {"đăng ký kết hôn": "ket_hon", "cccd": "can_cuoc"}
    assert [h[2:] for h in find_phrases("đk kết hôn ở đâu", phrases)] == [("ket_hon", "đk kết hôn")]
    assert [h[2] for h in find_phrases("can cuoc cong dan", phrases)] == ["can_cuoc"]


def test_find_phrases_tolerates_one_typo_in_longer_phrases():
    phrases = {"khai sinh": "khai_sinh", "bằng lái": "doi_gplx", "hộ": "x"}
    assert [h[2] for h in find_phrases("lam khai sanh cho con", phrases)] == ["khai_sinh"]
    assert [h[2] for h in find_phrases("đổi bằg lái", phrases)] == ["doi_gplx"]
    # One-word phrases need an exact match.
    assert find_phrases("hoa", {"hộ": "x"}) == []
    assert find_phrases("bằng lá", {"bằng": "x"}) == [(0, 4, "x", "bằng")]
