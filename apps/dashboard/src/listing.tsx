import type { ComponentChildren } from 'preact';
import type { Resource } from './use-resource.ts';

export interface Column<T> {
  header: string;
  cell: (item: T) => ComponentChildren;
}

/** A page of items as a table: its load error, an `empty` line when there are none. */
export function Listing<T extends { id: string }>(props: {
  resource: Resource<{ items: T[] }>;
  empty: string;
  columns: Column<T>[];
}) {
  const { data, error } = props.resource;
  return (
    <>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {data && data.items.length === 0 && <p>{props.empty}</p>}
      {data && data.items.length > 0 && (
        <table>
          <thead>
            <tr>
              {props.columns.map((column) => (
                <th scope="col" key={column.header}>
                  {column.header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {data.items.map((item) => (
              <tr key={item.id}>
                {props.columns.map((column) => (
                  <td key={column.header}>{column.cell(item)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
