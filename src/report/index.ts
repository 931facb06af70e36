/**
 * Reporting and the CI gate. Reads only the results store (never tfjs or training code), so
 * `report` and `check` start instantly. Plots load sharp on demand (plots.ts `renderPng`).
 */
export { loadResults, EXPERIMENT_FILE } from './load.ts';
export { buildReport, columnsFor, columnValue, rowKey } from './build.ts';
export { compareSeeds, mean, sampleStd, summarize, verdict, SIGNIFICANCE_SE } from './stats.ts';
export { PAPER_FINDINGS, findingsFor, formatPaperDelta, checkPaperDeltas } from './paper.ts';
export { renderExperimentMarkdown } from './markdown.ts';
export { renderCsv, csvRecords, csvText } from './csv.ts';
export { barsSvg, curvesSvg, renderPng, writePlots, type PlotFiles } from './plots.ts';
export { writeExperimentReport, writeCombinedReport, renderCombinedMarkdown, reportJson, REPORT_FILES, type WrittenReport } from './write.ts';
export { resolveTargets, combinedDir, type ResolvedTargets } from './resolve.ts';
export { baselineFromReport, readBaseline, updateBaseline, BASELINE_FORMAT, type BaselineFile, type BaselineExperiment } from './baseline.ts';
export { checkExperiment, checkSummaryMarkdown, junitXml, DEFAULT_CHECK, type CheckCase, type CheckOptions } from './check.ts';
export type * from './types.ts';
