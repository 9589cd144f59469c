export { createDashboardHandler, DASHBOARD_PATH } from './dashboard-handler.js'
