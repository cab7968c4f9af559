// Measured in the page: every table cell whose text wraps inside a word, and every chart legend that leaves its
// chart's box. A "word" is a run of non-space characters in one text node; each character's line is read from
// its range's client rect. Figures, names and cells (td, and th.l row headers, and .nw spans) must keep every word
// on one line; header cells (th) and free-text cells (td.wrap) may also break after a hyphen, dash or slash, never
// between two letters. Cells holding model output (<pre>) are left out: that text is the model's, shown as is.
() => {
  const broken = [];
  const cells = [...document.querySelectorAll("td, th")].filter(c => !c.querySelector("pre") && c.getClientRects().length);
  for (const cell of cells) {
    const strictCell = (cell.tagName === "TD" && !cell.classList.contains("wrap")) ||
                       (cell.tagName === "TH" && cell.classList.contains("l"));
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const strict = strictCell || node.parentElement.closest(".nw") !== null;
      const text = node.textContent;
      const range = document.createRange();
      for (const match of text.matchAll(/\S+/g)) {
        let lastTop = null;
        for (let i = match.index; i < match.index + match[0].length; i++) {
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (!rect) continue;
          if (lastTop !== null && rect.top - lastTop > 2) {
            if (strict || !"-–/".includes(text[i - 1])) {
              broken.push(`${match[0]} (in "${cell.innerText.slice(0, 60)}")`);
            }
          }
          lastTop = rect.top;
        }
      }
    }
  }
  const overflowing = [];
  for (const chart of document.querySelectorAll("svg.chart")) {
    const box = chart.getBoundingClientRect();
    if (!box.width) continue;
    for (const legend of chart.querySelectorAll(".legend")) {
      const r = legend.getBoundingClientRect();
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        overflowing.push(`${legend.textContent} in ${chart.getAttribute("aria-label")}`);
      }
    }
  }
  return {broken, overflowing, legends: document.querySelectorAll("svg.chart .legend").length,
          cells: cells.length};
}
