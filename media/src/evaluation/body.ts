/** Static markup of the evaluation panel (pure; the extension and the browser tests use it). */
export const EVALUATION_BODY = `<main id="app" aria-busy="true">
  <header class="toolbar">
    <h1 id="title">Evaluation</h1>
    <div class="actions">
      <button id="export-csv" type="button" disabled>Export table (CSV)</button>
      <button id="export-png" type="button" disabled>Export charts (PNG)</button>
      <button id="export-svg" type="button" disabled>Export charts (SVG)</button>
    </div>
  </header>
  <p id="status" role="status" aria-live="polite">Waiting for the run's events…</p>
  <div id="progress-wrap"><progress id="progress" max="1" value="0" aria-label="Run progress"></progress></div>
  <dl id="meta" aria-label="Run metadata"></dl>
  <section aria-labelledby="curves-heading">
    <h2 id="curves-heading">Training curves</h2>
    <div class="controls">
      <label for="aug-select">Augmentation</label>
      <select id="aug-select"></select>
      <label for="acc-select" id="acc-label">Accuracy</label>
      <select id="acc-select">
        <option value="valAcc">Validation</option>
        <option value="trainAcc">Training</option>
      </select>
      <label class="check"><input id="show-seeds" type="checkbox"> Show each seed</label>
    </div>
    <p class="hint">Lines: mean over seeds; bands: ±1 standard deviation over seeds.</p>
    <div class="charts">
      <figure><div id="chart-loss" class="chart" role="img" aria-label="Training loss per epoch"></div><figcaption id="cap-loss">Training loss per epoch</figcaption></figure>
      <figure><div id="chart-acc" class="chart" role="img" aria-label="Accuracy per epoch"></div><figcaption id="cap-acc">Validation accuracy per epoch</figcaption></figure>
    </div>
  </section>
  <section aria-labelledby="lr-heading" id="lr-section" hidden>
    <h2 id="lr-heading">Learning rate</h2>
    <div class="table-scroll"><table id="lr-table"></table></div>
    <p class="hint" id="lr-legend"></p>
  </section>
  <section aria-labelledby="table-heading">
    <h2 id="table-heading">Test accuracy</h2>
    <div class="table-scroll"><table id="results"></table></div>
    <p class="hint" id="table-legend" hidden></p>
    <p class="hint" id="table-hint">Difference to the baseline: mean over seeds of (loss − baseline) test accuracy on the same seeds; 95% confidence interval and p-value of a two-sided paired t-test, and the exact Wilcoxon signed-rank p-value.</p>
  </section>
</main>`;
