"""ISMN data file formats: current files told from the early formats the ismn package cannot read."""

from __future__ import annotations

from soilsat.acquire.ismn_formats import HEADER_VALUES, HEADER_VALUES_EARLY, data_format


def test_a_header_values_file_starting_without_provider_flags_is_current():
    """Current files may lack the provider flag on some lines: only a file without it on every line is early."""
    head = "NET NET ST 1.0 2.0 3.0 0.05 0.05 Probe\n2020/01/01 00:00 0.2 G\n2020/01/01 01:00 0.2 G\n"
    read_whole = []

    def whole(extra: str) -> str:
        read_whole.append(True)
        return head + extra

    assert (
        data_format("N_N_S_sm_0.05_0.05_P_2020_2020.stm", head, lambda: whole("2020/01/01 02:00 0.2 G M\n"))
        == HEADER_VALUES
    )
    assert data_format("N_N_S_sm_0.05_0.05_P_2020_2020.stm", head, lambda: whole("")) == HEADER_VALUES_EARLY
    assert read_whole == [True, True]
