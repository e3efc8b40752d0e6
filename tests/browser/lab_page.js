// Helpers that tests/browser/lab_page.py installs in a JupyterLab page as window.bpTest.
// They read JupyterLab's own state through window.jupyterapp (the server runs with
// --LabApp.expose_app_in_browser=True) and report plain facts; lab_page.py judges them.
(() => {
  const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
  const IMAGE_MIMES = ['image/png', 'image/jpeg', 'image/gif', 'image/svg+xml'];
  // Inline plots (img), ipywidgets.Image (img.widget-image, used by bplib.widgets), ipympl.
  const IMAGE_NODES = 'img, canvas, .jp-RenderedSVG svg';
  const CONTROLS = [
    // [kind, selector of the element to act on]; the first match in the notebook is moved.
    ['slider', '.widget-slider .noUi-handle'],
    ['dropdown', '.widget-dropdown select'],
    ['toggle', '.widget-toggle-buttons button:not(.mod-active)'],
    ['radio', '.widget-radio-box input:not(:checked)'],
    ['checkbox', '.widget-checkbox input'],
    ['text', '.widget-text input, .widget-inline-hbox input[type="number"]'],
    ['button', 'button.widget-button'],
  ];

  const clip = (text, n = 300) => (text || '').replace(/\s+/g, ' ').trim().slice(0, n);

  // FNV-1a: a short, stable fingerprint of an image's data URL for before/after comparisons.
  function fingerprint(text) {
    let h = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return `${text.length}:${h.toString(16)}`;
  }

  function plainText(output) {
    if (output.output_type === 'stream') {
      return Array.isArray(output.text) ? output.text.join('') : output.text;
    }
    const plain = output.data && output.data['text/plain'];
    return Array.isArray(plain) ? plain.join('') : plain || '';
  }

  const bp = {
    panel: null,

    async open(path) {
      const app = window.jupyterapp;
      await app.restored;
      const panel = await app.commands.execute('docmanager:open', {
        path, factory: 'Notebook', kernel: { name: 'python3' },
      });
      bp.panel = panel;
      await panel.context.ready;
      await panel.sessionContext.ready;
      panel.node.setAttribute('data-bp-panel', '1');
      app.shell.activateById(panel.id);
      return panel.id;
    },

    kernel() {
      const kernel = bp.panel && bp.panel.sessionContext.session?.kernel;
      return kernel ? { status: kernel.status, connection: kernel.connectionStatus } : null;
    },

    cells() {
      return bp.panel.content.widgets;
    },

    // Clear every output, then Run All; the result lands in bp.run when the command settles.
    runAll() {
      const app = window.jupyterapp;
      bp.run = undefined;
      app.shell.activateById(bp.panel.id);
      app.commands.execute('notebook:clear-all-cell-outputs')
        .then(() => app.commands.execute('notebook:run-all-cells'))
        .then((ok) => { bp.run = { ok: ok !== false }; },
          (err) => { bp.run = { ok: false, error: String(err) }; });
    },

    // What is on screen, minus the control being moved (its own readout changes with it).
    fingerprintOutputs() {
      const parts = [];
      bp.cells().forEach((cell, i) => {
        if (cell.model.type !== 'code') return;
        const area = cell.outputArea.node;
        const copy = area.cloneNode(true);
        copy.querySelectorAll('[data-bp-control-root]').forEach((n) => n.remove());
        parts.push(`${i}|${clip(copy.textContent, 100000)}`);
        area.querySelectorAll(IMAGE_NODES).forEach((node) => {
          if (node.closest('[data-bp-control-root]')) return;
          if (node.tagName === 'IMG') parts.push(fingerprint(node.src));
          else if (node.tagName === 'CANVAS') parts.push(fingerprint(node.toDataURL()));
          else parts.push(fingerprint(node.outerHTML));
        });
      });
      return fingerprint(parts.join('\n'));
    },

    // Kernel busy or a cell still queued/running: the page is not settled yet.
    busy() {
      const kernel = bp.kernel();
      if (!kernel || kernel.status !== 'idle' || kernel.connection !== 'connected') return true;
      return bp.cells().some((c) => c.model.type === 'code' && c.model.executionState === 'running');
    },

    state() {
      return { busy: bp.busy(), fingerprint: bp.fingerprintOutputs() };
    },

    // Facts about every code cell: its model's outputs and how each one was rendered.
    report() {
      return bp.cells().map((cell, index) => {
        cell.node.setAttribute('data-bp-cell', String(index));
        if (cell.model.type !== 'code') return null;
        const outputs = cell.model.outputs.toJSON();
        const children = cell.outputArea.widgets;
        return {
          index,
          executionCount: cell.model.executionCount,
          source: clip(cell.model.sharedModel.getSource(), 120),
          tags: cell.model.getMetadata('tags') || [],
          outputs: outputs.map((output, k) => {
            const node = children[k] ? children[k].node : null;
            const images = node ? [...node.querySelectorAll(IMAGE_NODES)] : [];
            return {
              type: output.output_type,
              mimes: Object.keys(output.data || {}),
              isWidget: Boolean(output.data && output.data[WIDGET_MIME]),
              isImage: IMAGE_MIMES.some((m) => output.data && output.data[m]),
              error: output.output_type === 'error' ? `${output.ename}: ${output.evalue}` : null,
              plain: clip(plainText(output)),
              rendered: node !== null,
              renderedWidget: node ? node.querySelector('.jupyter-widgets') !== null : false,
              images: images.length,
              loadedImages: images.filter((im) => im.tagName !== 'IMG'
                || (im.complete && im.naturalWidth > 0)).length,
              text: node ? clip(node.textContent) : '',
              // Tracebacks shown inside Output widgets (e.g. an interact callback that raised).
              widgetErrors: node ? [...node.querySelectorAll(
                '.widget-output [data-mime-type="application/vnd.jupyter.stderr"]')]
                .map((n) => clip(n.textContent))
                .filter((t) => /Traceback|Error\b/.test(t)) : [],
            };
          }),
        };
      }).filter((c) => c !== null);
    },

    // Mark the first control in the notebook (and the row it sits in) for Playwright.
    findControl() {
      document.querySelectorAll('[data-bp-control], [data-bp-control-root]').forEach((n) => {
        n.removeAttribute('data-bp-control');
        n.removeAttribute('data-bp-control-root');
      });
      for (const [kind, selector] of CONTROLS) {
        const target = bp.panel.node.querySelector(`.jp-OutputArea ${selector}`);
        if (!target) continue;
        const root = target.closest('.widget-inline-hbox, .widget-toggle-buttons, .widget-radio')
          || target.closest('.jupyter-widgets');
        target.setAttribute('data-bp-control', 'target');
        root.setAttribute('data-bp-control-root', '1');
        const track = root.querySelector('.noUi-target');
        if (track) track.setAttribute('data-bp-control', 'track');
        const cell = bp.cells().findIndex((c) => c.node.contains(target));
        const label = root.querySelector('.widget-label');
        return {
          kind,
          cell,
          label: clip(label ? label.textContent : target.textContent, 60),
          options: target.tagName === 'SELECT' ? target.options.length : 0,
          selected: target.tagName === 'SELECT' ? target.selectedIndex : 0,
        };
      }
      return null;
    },

    async close() {
      const panel = bp.panel;
      if (!panel) return;
      bp.panel = null;
      await panel.sessionContext.shutdown();
      panel.context.model.dirty = false;  // never ask to save: the copy is thrown away
      panel.dispose();
    },
  };
  window.bpTest = bp;
})();
