"""The definition of every figure the harness prints: one table, rendered as the report's glossary and as
docs/reference/metrics.md (generated; a test fails when the page is stale). The formulas themselves live in
`harness.analysis.request_metrics` and the cost and energy modules; change both together."""

from __future__ import annotations

GLOSSARY = [
    ("TTFT", "t(first streamed token of any kind, reasoning included) − t(request start); includes prompt "
             "rendering, tokenization, connection and prefill."),
    ("TTFAT", "time to first answer token: t(first non-empty answer chunk) − t(request start)."),
    ("E2E", "t(end of stream) − t(request start)."),
    ("ITL", "(t_last − t_first) / (N_streamed − 1) per request, over streamed (answer and reasoning) chunks."),
    ("TPOT", "(E2E − TTFT) / (N_streamed − 1)."),
    ("output tok/s", "(N_streamed − 1) / (t_last − t_first): only tokens that were streamed. Empty when the "
                     "provider counted output it did not stream (hidden reasoning) beyond what can be told apart."),
    ("end-to-end output rate", "N_out / E2E: the provider's whole output count (hidden reasoning included) over "
                               "the whole request; never reported as output tok/s."),
    ("N_in, N_out", "from the runtime or the provider's usage; else a tokenizer; else content chunks — each record says which."),
    ("accuracy", "correct / attempted requests: failed requests and checker errors count as not correct (\"failed\" "
                 "beside the figure); 95% bootstrap interval over tasks. Accuracy of answered: correct / requests "
                 "that got a verdict."),
    ("$ / task", "API: list price of the tokens used (genai-prices or a dated override). Local: energy kWh × "
                 "electricity price × PUE + hardware $/h ÷ utilisation × task hours."),
    ("$ / correct task", "total cost / correct tasks, with a 95% bootstrap interval."),
    ("J / task", "energy of the request's window, summed over devices, with its source label."),
    ("energy labels", "nvml_counter (GPU energy counter), nvml_sampled (GPU power samples integrated), rapl (CPU "
                      "package counters), estimated (TDP per logical CPU × CPU time), amdsmi (AMD GPU energy counter), "
                      "amdsmi_sampled (AMD GPU power samples integrated), npu_smi (Ascend NPU power samples from "
                      "npu-smi, integrated), powermetrics (Apple CPU/GPU/ANE power samples, integrated), unavailable."),
    ("estimated (ecologits)", "API models: energy and GWP per request estimated by EcoLogits from the model's "
                              "(estimated) size, the output tokens and the request latency, with the provider's PUE and "
                              "datacentre electricity mix; a min–max range, drawn as an error bar, never summed with "
                              "measured figures. A model EcoLogits does not list is unavailable, with the reason."),
    ("gCO2e / task", "local: energy × PUE × grid intensity (+ embodied emissions amortised like the hardware price, "
                     "where stated); API: EcoLogits' GWP range (usage + embodied)."),
    ("carbon basis", "which energy and grid a local figure used: grid from models.yaml (grid_gco2_per_kwh), a zone "
                     "in EcoLogits' electricity-mix data (grid_zone), or the default world average (WOR), marked default."),
    ("carbon view", "gCO2e per day at each volume: local machine held all day (idle power when not busy) against "
                    "the API's estimated range × volume; the volume above which local emits less."),
    ("break-even", "tasks/day where local cost/day (24 h of hardware, idle power when not busy) equals API cost/day."),
    ("projected", "API cost computed at list price from this run's token counts for a model that did not run; "
                  "marked with * and shown apart, never mixed with measured figures."),
    ("roofline share", "decode tok/s ÷ (memory bandwidth ÷ weight bytes); CPU bandwidth: a copy over as many "
                       "threads as the model uses, best of 11 (all repeats in the manifest)."),
]
