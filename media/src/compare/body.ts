/** Static markup of the side-by-side panel of several compare runs (pure; the extension and the browser tests use it). */
export const COMPARE_BODY = `<main id="app" aria-busy="true">
  <header class="toolbar">
    <h1 id="title">Runs side by side</h1>
    <div class="actions">
      <button id="export-csv" type="button" disabled>Export table (CSV)</button>
    </div>
  </header>
  <p id="status" role="status" aria-live="polite">Waiting for the runs' events…</p>
  <ul id="runs-key" class="runs-key" aria-label="Runs"></ul>
  <section aria-labelledby="curves-heading">
    <h2 id="curves-heading">Curves</h2>
    <div class="controls">
      <label for="aug-select">Augmentation</label>
      <select id="aug-select"></select>
      <label for="metric-select">Metric</label>
      <select id="metric-select">
        <option value="valAcc">Validation accuracy</option>
        <option value="trainAcc">Training accuracy</option>
        <option value="trainLoss">Training loss</option>
      </select>
    </div>
    <p class="hint">Each line: one loss of one run, the mean over its seeds; the colour says the loss (the same loss, the same colour in every run), the line style the run.</p>
    <figure><div id="chart-overlay" class="chart" role="img" aria-label="Curves of the runs"></div><figcaption id="cap-overlay">Validation accuracy per epoch</figcaption></figure>
  </section>
  <section aria-labelledby="table-heading">
    <h2 id="table-heading">Test accuracy</h2>
    <div class="table-scroll"><table id="joined"></table></div>
    <p class="hint">Each run's differences, intervals, p-values and verdicts are against its own baseline, on its own seeds.</p>
  </section>
</main>`;
