import { useEffect, useState } from 'preact/hooks';
import { signedOut, storedKey, storeKey } from './api.ts';
import { DatasetPage } from './pages/dataset.tsx';
import { DatasetsPage } from './pages/datasets.tsx';
import { JobPage } from './pages/job.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { ModelPage } from './pages/model.tsx';
import { ModelsPage } from './pages/models.tsx';
import { NetworksPage } from './pages/networks.tsx';
import { SignIn } from './pages/sign-in.tsx';
import { href, type Route, useRoute } from './route.ts';

const SECTIONS: {
  page: 'datasets' | 'networks' | 'jobs' | 'models';
  label: string;
  also: Route['page'][];
}[] = [
  { page: 'datasets', label: 'Datasets', also: ['dataset'] },
  { page: 'networks', label: 'Networks', also: [] },
  { page: 'jobs', label: 'Jobs', also: ['job'] },
  { page: 'models', label: 'Models', also: ['model'] },
];

export function App() {
  const [key, setKey] = useState(storedKey);
  const route = useRoute();
  useEffect(() => {
    const onSignedOut = () => {
      storeKey(null);
      setKey(null);
    };
    signedOut.addEventListener('signed-out', onSignedOut);
    return () => signedOut.removeEventListener('signed-out', onSignedOut);
  }, []);

  if (key === null) {
    return (
      <SignIn
        onSignedIn={(k) => {
          storeKey(k);
          setKey(k);
        }}
      />
    );
  }
  return (
    <>
      <header class="top">
        <span class="brand">backprop</span>
        <nav aria-label="Sections">
          {SECTIONS.map((s) => {
            const current = route.page === s.page || s.also.includes(route.page);
            return (
              <a key={s.page} href={href({ page: s.page })} aria-current={current ? 'page' : undefined}>
                {s.label}
              </a>
            );
          })}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            storeKey(null);
            setKey(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'datasets':
      return <DatasetsPage />;
    case 'dataset':
      return <DatasetPage id={route.id} />;
    case 'networks':
      return <NetworksPage />;
    case 'jobs':
      return <JobsPage />;
    case 'job':
      return <JobPage id={route.id} key={route.id} />;
    case 'models':
      return <ModelsPage />;
    case 'model':
      return <ModelPage id={route.id} key={route.id} />;
  }
}
