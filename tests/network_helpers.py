"""Helpers of the network tests: trainable parameter counts and LSTM ensemble weights from plain modules."""

import torch

from conftest import schema_section
from soilsat.models.simonsen.lstm import LstmSettings, SimonsenLstm


def thesis_settings() -> LstmSettings:
    """The LSTM settings of the thesis: train.lstm's defaults in the schema."""
    return LstmSettings.from_config(schema_section("train.lstm"))


def thesis_lstm(n_inputs: int) -> SimonsenLstm:
    """The thesis network as a plain torch module."""
    settings = thesis_settings()
    return SimonsenLstm(n_inputs, settings.units, settings.layers, settings.dropout)


def stacked_from_modules(modules: list[SimonsenLstm]) -> dict[str, torch.Tensor]:
    """The ensemble's stacked weights holding the weights of plain modules, one per member."""
    params = {}
    for layer in range(len(modules[0].lstms)):
        cells = [m.lstms[layer] for m in modules]
        params[f"w_ih{layer}"] = torch.stack([c.weight_ih_l0.detach().T for c in cells])
        params[f"w_hh{layer}"] = torch.stack([c.weight_hh_l0.detach().T for c in cells])
        params[f"b{layer}"] = torch.stack([(c.bias_ih_l0 + c.bias_hh_l0).detach()[None] for c in cells])
    params["w_out"] = torch.stack([m.out.weight.detach().T for m in modules])
    params["b_out"] = torch.stack([m.out.bias.detach().view(1, 1) for m in modules])
    return params


def count(module: torch.nn.Module) -> int:
    """Trainable parameters of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
