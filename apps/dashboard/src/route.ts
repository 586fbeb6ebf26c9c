/** Hash routes (`#/jobs/<id>`): the API serves one page, and a reload keeps the place. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'datasets' }
  | { page: 'dataset'; id: string }
  | { page: 'networks' }
  | { page: 'jobs' }
  | { page: 'job'; id: string }
  | { page: 'models' }
  | { page: 'model'; id: string };

export function parseRoute(hash: string): Route {
  const [page, id] = hash.replace(/^#\/?/, '').split('/');
  switch (page) {
    case 'dataset':
    case 'datasets':
      return id ? { page: 'dataset', id } : { page: 'datasets' };
    case 'networks':
      return { page: 'networks' };
    case 'jobs':
      return id ? { page: 'job', id } : { page: 'jobs' };
    case 'models':
      return id ? { page: 'model', id } : { page: 'models' };
    default:
      return { page: 'datasets' };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case 'dataset':
      return `#/datasets/${route.id}`;
    case 'job':
      return `#/jobs/${route.id}`;
    case 'model':
      return `#/models/${route.id}`;
    default:
      return `#/${route.page}`;
  }
}

export function navigate(route: Route): void {
  location.hash = href(route);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
