/** Static markup of the evolution panel (pure; the extension and the browser tests use it). */
export const EVOLUTION_BODY = `<main id="app" aria-busy="true">
  <header class="toolbar">
    <h1 id="title">Evolution</h1>
    <div class="actions">
      <button id="export-csv" type="button" disabled>Export top-k (CSV)</button>
      <button id="export-png" type="button" disabled>Export chart (PNG)</button>
      <button id="export-svg" type="button" disabled>Export chart (SVG)</button>
    </div>
  </header>
  <p id="status" role="status" aria-live="polite">Waiting for the run's events…</p>
  <div id="progress-wrap"><progress id="progress" max="1" value="0" aria-label="Run progress"></progress></div>
  <dl id="meta" aria-label="Run metadata"></dl>
  <div class="controls">
    <label for="search-select">Search</label>
    <select id="search-select"></select>
    <label for="axis-select">Scatter x axis</label>
    <select id="axis-select">
      <option value="time">Time since start (s)</option>
      <option value="size">Complexity (expression size)</option>
    </select>
  </div>
  <section aria-labelledby="fitness-heading">
    <h2 id="fitness-heading">Fitness</h2>
    <p class="hint">Fitness: best validation accuracy on the surrogate task. Dashed: cross-entropy on the same surrogate and seed.</p>
    <div class="charts">
      <figure><div id="chart-fitness" class="chart" role="img" aria-label="Population fitness per step"></div><figcaption>Population fitness per child evaluated</figcaption></figure>
      <figure><div id="chart-scatter" class="chart" role="img" aria-label="Fitness of every evaluated candidate"></div><figcaption id="cap-scatter">Every evaluated candidate</figcaption></figure>
    </div>
  </section>
  <section aria-labelledby="top-heading">
    <h2 id="top-heading">Best losses</h2>
    <div class="table-scroll"><table id="top"></table></div>
  </section>
  <section aria-labelledby="final-heading" id="final-section" hidden>
    <h2 id="final-heading">Re-trained against cross-entropy</h2>
    <div class="table-scroll"><table id="final"></table></div>
    <p class="hint" id="final-legend"></p>
  </section>
  <section aria-labelledby="transfer-heading" id="transfer-section" hidden>
    <h2 id="transfer-heading">Transfer ladder</h2>
    <p class="hint" id="transfer-status" hidden></p>
    <div class="table-scroll"><table id="transfer"></table></div>
    <p class="hint" id="transfer-legend"></p>
  </section>
  <section aria-labelledby="cross-heading" id="cross-section" hidden>
    <h2 id="cross-heading">Across augmentations</h2>
    <div class="table-scroll"><table id="cross"></table></div>
  </section>
  <section aria-labelledby="rej-heading">
    <h2 id="rej-heading">Rejected candidates</h2>
    <div class="table-scroll"><table id="rejections"></table></div>
  </section>
</main>`;
