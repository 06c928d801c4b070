import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.js";

const root = document.getElementById("root");
if (!root) throw new Error("no #root element");
// StrictMode on purpose: the provider must survive its double mount with one connection and one refresh.
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
