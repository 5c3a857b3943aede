import unicodedata

from dichvucong.text import canonical, find_phrases, fold, fold_with_map, lemma, normalize, respell


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


def test_telex_typed_without_an_input_method_reads_as_the_syllable():
    assert canonical("lam cawn cuwowcs o dau") == "lam can cuoc o dau"
    assert [lemma(w) for w in ("phis", "chaof", "sow", "khoong", "ddi")] == ["phi", "chao", "so", "khong", "di"]


def test_a_dropped_n_of_a_final_ng_is_respelt_but_swapped_letters_are_not():
    assert [respell(w) for w in ("khog", "dug", "vag", "sih")] == ["khong", "dung", "vang", "sinh"]
    assert canonical("nộp hồ sơ online được khôg") == "nop ho so online duoc khong"
    assert respell("kai") is None  # swapped, "kia" (a word); "khai" was meant


def test_telex_leaves_real_syllables_abbreviations_and_foreign_words_alone():
    for word in ("can", "xin", "tx", "bj", "zalo", "vneid", "online", "wifi", "gmail", "app", "alo", "off", "miss", "list", "www", "wwwwhhh"):
        assert respell(word) is None, word
    assert lemma("tx") == "tx"  # "thị xã" in a locality, not a typo
    assert lemma("cccd") == "can cuoc cong dan"  # the abbreviation table comes first


def test_find_phrases_reads_telex_keys():
    hits = find_phrases("muon lam cawn cuwowcs", {"căn cước": "can_cuoc"})
    assert [h[2:] for h in hits] == [("can_cuoc", "cawn cuwowcs")]


def test_canonical_for_whole_messages():
    assert canonical("Làm cccd ko dc à?") == "lam can cuoc cong dan khong duoc a"


def test_find_phrases_reports_offsets_in_the_original_text():
    text = "Tôi muốn làm Căn Cước cho con"
    hits = find_phrases(text, {"căn cước": "can_cuoc"})
    assert hits == [(13, 21, "can_cuoc", "Căn Cước")]


def test_find_phrases_respects_word_boundaries_and_prefers_longest():
    phrases = {"khai sinh": "khai_sinh", "dang ky khai sinh": "khai_sinh", "ho": "x"}
    assert find_phrases("hoso khai sinht", phrases, typos=False) == []
    hits = find_phrases("dang ky khai sinh", phrases)
    assert [(h[0], h[1]) for h in hits] == [(0, 17)]


def test_find_phrases_expands_abbreviations_on_both_sides():
    phrases = {"đăng ký kết hôn": "ket_hon", "cccd": "can_cuoc"}
    assert [h[2:] for h in find_phrases("đk kết hôn ở đâu", phrases)] == [("ket_hon", "đk kết hôn")]
    assert [h[2] for h in find_phrases("can cuoc cong dan", phrases)] == ["can_cuoc"]


def test_find_phrases_tolerates_one_typo_in_longer_phrases():
    phrases = {"khai sinh": "khai_sinh", "bằng lái": "doi_gplx", "hộ": "x"}
    assert [h[2] for h in find_phrases("lam khai sjnh cho con", phrases)] == ["khai_sinh"]
    assert [h[2] for h in find_phrases("đổi bằg lái", phrases)] == ["doi_gplx"]
    # One-word phrases need an exact match.
    assert find_phrases("hoa", {"hộ": "x"}) == []
    assert find_phrases("bằng lá", {"bằng": "x"}) == [(0, 4, "x", "bằng")]


def test_find_phrases_does_not_read_short_real_words_as_typos():
    phrases = {"báo tử": "khai_tu", "khai sinh": "khai_sinh"}
    assert find_phrases("ông bà từ quê ra chơi", phrases) == []
    # Three-letter syllables are one edit from dozens of others.
    phrases["qua đời"] = "khai_tu"
    phrases["chuyển khẩu"] = "thuong_tru"
    for text in ("hôm qua tôi làm mất ví", "bạn tư vấn giúp mình", "việc nào tự làm được",
                 "hồ sơ có kết quả rồi", "cho hỏi chuyện khác", "khai sanh"):
        assert find_phrases(text, phrases) == [], text
    # A letter added to a real syllable is still a typo.
    phrases["căn cước"] = "can_cuoc"
    assert [h[2] for h in find_phrases("làm căng cước cho con", phrases)] == ["can_cuoc"]
    assert [h[2] for h in find_phrases("bao tu cho ong", phrases)] == ["khai_tu"]
    assert [h[2] for h in find_phrases("kai sinh", phrases)] == ["khai_sinh"]


def test_find_phrases_trusts_the_tones_a_citizen_typed():
    phrases = {"báo tử": "khai_tu", "hòa giải": "x", "đk kết hôn": "ket_hon"}
    # "bảo tự" (told to do it oneself) folds like "báo tử" but its tones say otherwise.
    assert find_phrases("cửa hàng bảo tự đi đăng ký", phrases) == []
    assert [h[2] for h in find_phrases("làm báo tử ở đâu", phrases)] == ["khai_tu"]
    # Without tones, or with one tone missing or wrong, the folded match stands.
    assert [h[2] for h in find_phrases("bao tu o dau", phrases)] == ["khai_tu"]
    assert [h[2] for h in find_phrases("báo tu o dau", phrases)] == ["khai_tu"]
    assert [h[2] for h in find_phrases("làm báo tữ", phrases)] == ["khai_tu"]
    # A wrong letter and a wrong tone are two slips.
    assert find_phrases("báo tự", {"bão tử": "x"}) == []
    # Old and new tone placement are the same tone.
    assert [h[2] for h in find_phrases("hoà giải", phrases)] == ["x"]
    # An expanded abbreviation has no tone of its own to compare.
    assert [h[2] for h in find_phrases("đăng ký kết hôn", phrases)] == ["ket_hon"]


def _scan_every_phrase(text, phrases, typos=True):
    """The definition find_phrases' index must agree with: every phrase at every position."""
    from dichvucong.text import _phrase_words, _tones, _typo, _words, tone_conflicts

    words = _words(text)
    seq = [w for w, _, _ in words]
    hits = []
    for phrase, label in phrases.items():
        needle = _phrase_words(phrase)
        meant = _tones(phrase)
        for i in range(len(seq) - len(needle) + 1):
            misses = [k for k in range(len(needle)) if seq[i + k] != needle[k]]
            near = typos and len(needle) >= 2 and len(misses) == 1 and _typo(seq[i + misses[0]], needle[misses[0]])
            slips = len(misses) + tone_conflicts(_tones(text)[i:i + len(needle)], meant)
            if (not misses or near) and slips <= (1 if typos and len(needle) >= 2 else 0):
                start, end = words[i][1], words[i + len(needle) - 1][2]
                hits.append((start, end, label, text[start:end], not misses))
    hits.sort(key=lambda h: (not h[4], -(h[1] - h[0]), h[0]))
    chosen = []
    for start, end, label, matched, _ in hits:
        if all(end <= c[0] or start >= c[1] for c in chosen):
            chosen.append((start, end, label, matched))
    return sorted(chosen)


def test_find_phrases_index_finds_what_scanning_every_phrase_finds():
    import random

    phrases = {
        "khai sinh": "a", "đăng ký khai sinh": "a", "khai tử": "b", "báo tử": "b", "căn cước": "c",
        "cccd": "c", "thẻ căn cước": "c", "tạm trú": "d", "đăng ký tạm trú": "d", "sinh con": "e",
        "khai báo tạm trú cho người nước ngoài": "f", "hộ": "g", "bằng lái xe": "h", "đổi bằng lái": "h",
    }
    vocab = ["khai", "sinh", "sanh", "tử", "tu", "báo", "bao", "căn", "cước", "cuoc", "cccd", "thẻ", "the",
             "tạm", "tam", "trú", "tru", "đăng", "ký", "dk", "con", "cho", "người", "nước", "ngoài", "hộ",
             "bằng", "bằg", "lái", "lai", "xe", "đổi", "bà", "ở", "làm"]
    rnd = random.Random(20261202)
    for _ in range(3000):
        text = " ".join(rnd.choice(vocab) for _ in range(rnd.randint(1, 12)))
        for typos in (True, False):
            assert find_phrases(text, phrases, typos) == _scan_every_phrase(text, phrases, typos), text


def test_intent_lemma_keeps_replies_that_only_tones_tell_apart():
    from dichvucong.text import intent_canonical, intent_lemma

    # "dừng" (stop), "đừng" (don't) and "đúng" (right) are three replies typed with tones...
    assert len({intent_lemma(w) for w in ("dừng", "đừng", "đúng")}) == 3
    assert intent_lemma("Ừa") == "ừa" != intent_lemma("ủa")
    # ...and one word without them, as canonical() keeps them for rule matching.
    assert intent_lemma("dung") == intent_lemma("đúng") == canonical("dừng") == "dung"
    assert intent_canonical("Dừng lại, đk sau") == "dừng lai dang ky sau"
