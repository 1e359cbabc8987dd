"""The evaluation report as markdown, from the JSON summary that ``izde eval report`` writes beside it."""

from __future__ import annotations

from typing import Any


def pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _t(x: float) -> str:
    return "inf" if x == float("inf") else f"{x:.4f}"


def _rate(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


def verification_md(v: dict[str, Any]) -> list[str]:
    d, b, cv = v["default_threshold"], v["best_threshold"], v["cross_validated_accuracy"]
    lines = [
        "## Verification (1:1, LFW pairs)",
        "",
        f"{v['pairs']['same']} same-person and {v['pairs']['different']} different-person pairs. "
        f"Faces found by: {', '.join(f'{k} {n}' for k, n in v['face_found_by'].items())}.",
        "",
        "| measure | threshold | value |",
        "| --- | --- | --- |",
        f"| accuracy at the default threshold | {d['threshold']:.2f} | {pct(d['accuracy'])} "
        f"(TAR {pct(d['tar'])}, FAR {pct(d['far'])}) |",
        f"| accuracy at the best threshold (fitted on these pairs) | {b['threshold']:.4f} | {pct(b['accuracy'])} |",
        f"| accuracy, {cv['folds']}-fold cross-validated threshold | - | {pct(cv['mean'])} ± {pct(cv['std'])} |",
    ]
    for p in v["tar_at_far"]:
        note = "" if p["measured"] else f" (below the resolution of {p['impostor_pairs']} impostor pairs)"
        lines.append(f"| TAR at FAR = {_rate(p['far'])}{note} | {_t(p['threshold'])} | {pct(p['tar'])} |")
    lines += ["", "![ROC](verification_roc.png) ![distances](verification_hist.png)", ""]
    return lines


def identification_md(ident: dict[str, Any]) -> list[str]:
    pr = ident["protocol"]
    lines = [
        "## Identification (1:N)",
        "",
        f"Gallery: {pr['enrolled_photos_per_person']} photo per enrolled person; mated probes: up to "
        f"{pr['max_mated_probes_per_person']} other photos of each; non-mated probes: {pr['nonmated']}. "
        f"A mated search succeeds when the {pr['mated_success']}.",
        "",
        "| gallery size | mated / non-mated probes | rank-1 | FNIR @ FPIR 1e-2 (threshold) "
        "| FNIR @ FPIR 1e-3 (threshold) "
        "| at the default threshold: FNIR / FPIR |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for g in ident["galleries"]:
        ops = " | ".join(
            f"{pct(o['fnir'])} ({_t(o['threshold'])}){'' if o['measured'] else ' *'}" for o in g["fnir_at_fpir"]
        )
        at = g.get("at_threshold")
        at_s = f"{pct(at['fnir'])} / {pct(at['fpir'])} at {at['threshold']:.2f}" if at else "-"
        lines.append(
            f"| {g['gallery_size']:,} | {g['mated_probes']:,} / {g['nonmated_probes']:,} | {pct(g['rank1'])} "
            f"| {ops} | {at_s} |"
        )
    lines += ["", "![DET](identification_det.png)", ""]
    if ident.get("by_group") is None:
        lines += [f"Per-group figures: {ident.get('by_group_note', 'not available')}.", ""]
    else:
        for g, bg in ident["by_group"].items():
            lines += [
                f"Per group, gallery {g}, threshold {bg['threshold']:.4f}:",
                "",
                "| group | rank-1 | FNIR | FPIR |",
                "| --- | --- | --- | --- |",
            ]
            lines += [
                f"| {name} | {pct(v['rank1'])} | {pct(v['fnir'])} | {pct(v['fpir'])} |"
                for name, v in bg["groups"].items()
            ]
            lines.append("")
    return lines


def strategies_md(s: dict[str, Any]) -> list[str]:
    lines = [
        "## Template strategies",
        "",
        f"Same split for every row: {s['gallery_size']} enrolled people ({s['enrolled_photos']['mean']:.1f} "
        f"photos each on average, at most {s['enrolled_photos']['max']}), {s['mated_tracks']} mated and "
        f"{s['nonmated_tracks']} non-mated tracks of {s['track_length']} photos. "
        "Gallery: `one` = first photo only, `all-min` = every photo a template (closest wins), "
        "`all-mean` = mean descriptor, `all+mean` = every photo and the mean as templates. "
        "Probe: `frame` = a track's first photo, `track` = mean of the track's photos. "
        "Ties in FNIR go to the higher rank-1.",
        "",
        "| gallery | probe | rank-1 | FNIR @ FPIR 1e-2 (threshold) | FNIR @ FPIR 1e-3 (threshold) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in s["results"]:
        ops = " | ".join(
            f"{pct(o['fnir'])} ({_t(o['threshold'])}){'' if o['measured'] else ' *'}" for o in r["fnir_at_fpir"]
        )
        lines.append(f"| {r['gallery']} | {r['probe']} | {pct(r['rank1'])} | {ops} |")
    b = s["best"]
    lines += ["", f"Lowest FNIR at FPIR 1e-2: gallery `{b['gallery']}`, probe `{b['probe']}`.", ""]
    return lines


def strategies_by_network_md(s: dict[str, Any]) -> list[str]:
    """FNIR at FPIR 1e-2 / 1e-3 of every template strategy, one column per network and fusion."""
    nets = list(s["networks"])
    lines = [
        "## Template strategies per network",
        "",
        f"The template-strategy split ({s['gallery_size']} people, {s['mated_tracks']} mated and "
        f"{s['nonmated_tracks']} non-mated tracks of {s['track_length']} photos), searched with each network alone "
        "and fused. `fused`: equal weights (the shipped calibration); `fused-dprime`: weights by each network's d'; "
        "`fused-quality`: per probe, each network's d' on the pairs whose smaller face is in the probe's band of "
        "eye distance. FaceRes means are renormalised to unit length. Cells: FNIR at FPIR 1e-2 / 1e-3.",
        "",
        "| gallery | probe | " + " | ".join(nets) + " |",
        "| --- | --- | " + " | ".join("---" for _ in nets) + " |",
    ]
    first = s["networks"][nets[0]]["results"]
    for i, r in enumerate(first):
        cells = []
        for n in nets:
            ops = s["networks"][n]["results"][i]["fnir_at_fpir"]
            cells.append(" / ".join(f"{pct(o['fnir'])}{'' if o['measured'] else ' *'}" for o in ops))
        lines.append(f"| {r['gallery']} | {r['probe']} | " + " | ".join(cells) + " |")
    if "quality_weights" in s:
        q = s["quality_weights"]
        edges = ", ".join(f"{e:.1f}" for e in q["eye_px_edges"])
        weights = "; ".join(f"{k} {', '.join(f'{w:.2f}' for w in ws)}" for k, ws in q["weights"].items())
        lines += ["", f"Face-size bands split at eye distances {edges} px; weights per band: {weights}."]
    lines.append("")
    return lines


def robustness_md(r: dict[str, Any]) -> list[str]:
    lines = [
        "## Robustness slices",
        "",
        f"Gallery of {r['gallery_size']:,} clean photos; probes degraded: {r['mated_probes']} mated (one per person) "
        f"and {r['nonmated_probes']} non-mated. `eyesN`: downscaled so the eyes are N px apart (INTER_AREA), "
        "`jpegQ`: re-encoded at JPEG quality Q. Faces are cut at the clean photo's box, scaled, so the rows "
        "measure recognition; the HOG column says how often the detector still finds the face.",
        "",
        "| slice | median eye distance (px) | HOG finds face | rank-1 "
        f"| FNIR @ FPIR {_rate(r['fpir'])} (refitted threshold)"
        " | FNIR / FPIR at the clean threshold |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in r["slices"]:
        o, c = s["refitted"], s["at_clean_threshold"]
        lines.append(
            f"| {s['slice']} | {s['median_eye_px']:.0f} | {pct(s['hog_finds_face'], 1)} | {pct(s['rank1'])} | "
            f"{pct(o['fnir'])} ({_t(o['threshold'])}) | {pct(c['fnir'])} / {pct(c['fpir'])} at {c['threshold']:.4f} |"
        )
    lines.append("")
    return lines


def robustness_by_network_md(r: dict[str, Any]) -> list[str]:
    """Per slice and score: rank-1, FNIR at FPIR 1e-2 (refitted), and FNIR / FPIR at the clean threshold."""
    nets = [k for k in r["slices"][0] if isinstance(r["slices"][0][k], dict)]
    lines = [
        "## Robustness slices per network",
        "",
        f"The robustness split ({r['gallery_size']:,} people, clean gallery; {r['mated_probes']} mated and "
        f"{r['nonmated_probes']} non-mated degraded probes), searched with each network alone and fused (the shipped "
        "calibration). Both networks embed the same degraded image at dlib's landmarks. Cells: FNIR at FPIR "
        f"{_rate(r['fpir'])} with the threshold refitted on the slice; FNIR / FPIR at each score's clean threshold.",
        "",
        "| slice | median eye distance (px) | " + " | ".join(nets) + " |",
        "| --- | --- | " + " | ".join("---" for _ in nets) + " |",
    ]
    for s in r["slices"]:
        cells = []
        for n in nets:
            o, c = s[n]["refitted"], s[n]["at_clean_threshold"]
            cells.append(f"{pct(o['fnir'])}; {pct(c['fnir'])} / {pct(c['fpir'])}")
        lines.append(f"| {s['slice']} | {s['median_eye_px']:.0f} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Evaluation on {result['dataset']}",
        "",
        f"- date: {result['date']}",
        f"- machine: {result['machine']}",
        f"- embedder: {result['embedder']}; settings threshold {result['threshold']:.2f}",
        f"- command: `{result['command']}`",
        "- `*` marks an operating point below the resolution of the non-mated set (fewer than one false "
        "positive allowed).",
        "",
    ]
    if "verification" in result:
        lines += verification_md(result["verification"])
    if "identification" in result:
        lines += identification_md(result["identification"])
    if "strategies" in result:
        lines += strategies_md(result["strategies"])
    if "strategies_by_network" in result:
        lines += strategies_by_network_md(result["strategies_by_network"])
    if "robustness" in result:
        lines += robustness_md(result["robustness"])
    if "robustness_by_network" in result:
        lines += robustness_by_network_md(result["robustness_by_network"])
    if "fusion" in result:
        from izde.eval.fusion import table

        lines += [
            "## A second network: FaceRes alone and fused with dlib's descriptor",
            "",
            "Each network's distances normalised by its impostor distribution on this dataset's pairs, then "
            "averaged (`fused`: equal weights; `fused-dprime`: weighted by each network's d'). One photo per "
            "person; the last rows compare at the FPIR that dlib reaches at izde's default threshold.",
            "",
            *table(result["fusion"]),
            "",
        ]
    if "calibration" in result:
        lines += [
            "## Calibration",
            "",
            f"`{result['calibration']}` holds the impostor and genuine distance histograms, per-probe false match "
            "rates and the measured non-mated nearest-distance histograms per gallery size; "
            "`izde threshold show --calibration` reads it (izde ships the same numbers as its built-in calibration). "
            "Its prediction of FPIR against the measured 1:N searches:",
            "",
            "| threshold | gallery size | measured FPIR | predicted (per-probe rates) | independent comparisons |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r['threshold']:.2f} | {r['gallery_size']:,} | {pct(r['measured_fpir'])} | {pct(r['predicted_fpir'])} "
            f"| {pct(r['independent_model_fpir'])} |"
            for r in result.get("calibration_check", [])
        ]
        lines.append("")
    return "\n".join(lines)
