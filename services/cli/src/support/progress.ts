// A progress line on stderr: a redrawn bar on a terminal, a line per 10 % otherwise (CI logs, pipes).
export function progressBar(label: string) {
  const tty = process.stderr.isTTY === true;
  let lastDecile = -1;
  return {
    update(fraction: number, detail = '') {
      const f = Math.max(0, Math.min(1, fraction));
      if (tty) {
        const width = 30;
        const filled = Math.round(f * width);
        process.stderr.write(
          `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` +
            `${(f * 100).toFixed(0).padStart(3)} % ${detail}   `,
        );
      } else if (Math.floor(f * 10) > lastDecile) {
        lastDecile = Math.floor(f * 10);
        process.stderr.write(`${label}: ${lastDecile * 10} % ${detail}\n`);
      }
    },
    done(detail: string) {
      process.stderr.write(`${tty ? '\r' : ''}${label}: done — ${detail}${tty ? ' '.repeat(20) : ''}\n`);
    },
  };
}
