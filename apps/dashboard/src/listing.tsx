import type { ComponentChildren } from 'preact';
import { ErrorAlert } from './forms.tsx';
import { type Resource, useResource } from './use-resource.ts';

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
      <ErrorAlert error={error} />
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

/** A section's page: its title, what comes before the list (a form), then the list, loaded once. */
export function ListingPage<T extends { id: string }>(props: {
  title: string;
  children: ComponentChildren;
  /** the list's heading, if it needs one below the form */
  listTitle?: string;
  load: () => Promise<{ items: T[] }>;
  empty: string;
  columns: Column<T>[];
}) {
  const list = useResource(props.load, []);
  return (
    <>
      <h1>{props.title}</h1>
      {props.children}
      {props.listTitle !== undefined && <h2>{props.listTitle}</h2>}
      <Listing resource={list} empty={props.empty} columns={props.columns} />
    </>
  );
}
