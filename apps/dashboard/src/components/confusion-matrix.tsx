/**
 * A confusion matrix as a heat map: rows are the true classes, columns the predicted ones, and a
 * cell's shade is its share of its row (so a class's recall reads along the diagonal whatever
 * the class sizes). The counts are written in every cell; colour is never the only cue.
 */
export function ConfusionMatrix({ classes, counts }: { classes: string[]; counts: number[][] }) {
  return (
    <div class="scroll">
      <table class="confusion" data-testid="confusion-matrix">
        <caption>Confusion matrix: true class (rows) by predicted class (columns)</caption>
        <thead>
          <tr>
            <td />
            {classes.map((c) => (
              <th scope="col" key={c}>
                predicted {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {counts.map((row, i) => {
            const total = row.reduce((a, b) => a + b, 0);
            return (
              <tr key={classes[i]}>
                <th scope="row">true {classes[i]}</th>
                {row.map((n, j) => {
                  const share = total > 0 ? n / total : 0;
                  // Light to dark blue; text turns white where the cell is dark (contrast ≥ 4.5).
                  const lightness = 97 - share * 67;
                  return (
                    <td
                      key={classes[j]}
                      class="cell"
                      style={{
                        backgroundColor: `hsl(215 70% ${lightness}%)`,
                        color: lightness < 55 ? '#fff' : '#111',
                      }}
                      title={`${(share * 100).toFixed(1)} % of true ${classes[i]}`}
                    >
                      {n}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
