import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router';

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'projects', component: () => import('./views/ProjectsView.vue'), meta: { title: 'Projects' } },
  {
    path: '/projects/:id',
    name: 'project',
    component: () => import('./views/ProjectView.vue'),
    props: true,
    meta: { title: 'Project' },
  },
  { path: '/projects/:id/label', name: 'label', component: () => import('./views/LabelingView.vue'), props: true, meta: { title: 'Label' } },
  {
    path: '/projects/:id/sessions/:sessionId',
    name: 'session',
    component: () => import('./views/LabelingView.vue'),
    props: true,
    meta: { title: 'Labeling session' },
  },
  { path: '/projects/:id/browse', name: 'browse', component: () => import('./views/BrowserView.vue'), props: true, meta: { title: 'Browse' } },
  {
    path: '/projects/:id/settings',
    name: 'settings',
    component: () => import('./views/ProjectSettingsView.vue'),
    props: true,
    meta: { title: 'Settings' },
  },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: 'Not found' } },
];

export function createAppRouter() {
  const router = createRouter({ history: createWebHistory(import.meta.env.BASE_URL), routes });
  router.afterEach((to) => {
    const title = typeof to.meta['title'] === 'string' ? to.meta['title'] : '';
    document.title = title ? `${title} · refinery` : 'refinery';
  });
  return router;
}
